using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Engine;
using Sessions.Envelope;
using Sessions.Memory;

namespace Sessions.Core.Tests.Protection;

/// <summary><see cref="SessionOptions.ProtectPayloads"/> through DI and whole requests (TestServer).</summary>
public sealed class ProtectPayloadsMiddlewareTests
{
    private string _keyDirectory = null!;

    [SetUp]
    public void CreateKeyDirectory()
    {
        _keyDirectory = Path.Combine(Path.GetTempPath(), "sessions-dp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_keyDirectory);
    }

    [TearDown]
    public void DeleteKeyDirectory() => Directory.Delete(_keyDirectory, recursive: true);

    [Test]
    public void Start_up_fails_with_what_to_do_when_the_option_is_on_and_Data_Protection_is_not_registered()
    {
        var services = new ServiceCollection();
        services.AddSessions(o => o.ProtectPayloads = true).AddMemoryBackend();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<SessionOptions>>().Value);
        Assert.That(ex!.Message, Does.Contain("Sessions:ProtectPayloads").And.Contain("AddDataProtection()"));
    }

    [Test]
    public async Task Hit_counts_with_protected_records_and_the_store_holds_them_protected()
    {
        var backend = new MemorySessionBackend();
        await using var app = await StartAsync(backend, protect: true);
        var client = app.GetTestClient();

        var cookie = await HitAsync(client, null, "1");
        await HitAsync(client, cookie, "2");

        var store = app.Services.GetRequiredService<SessionStore>();
        var id = Uri.UnescapeDataString(cookie.Split('=', 2)[1]);
        var record = await backend.GetAsync(store.Keys.ForSession(id)!, CancellationToken.None);
        Assert.That(record!.Payload.Span[0], Is.EqualTo(PayloadCodec.EnvelopeEncryptedFormatByte));
    }

    [Test]
    public async Task A_session_under_a_destroyed_key_gets_a_new_session_not_an_error()
    {
        var backend = new MemorySessionBackend();
        string cookie;
        await using (var before = await StartAsync(backend, protect: true))
        {
            cookie = await HitAsync(before.GetTestClient(), null, "1");
        }

        foreach (var file in Directory.GetFiles(_keyDirectory, "key-*.xml"))
        {
            File.Delete(file); // every key destroyed
        }

        await using var after = await StartAsync(backend, protect: true);
        var fresh = await HitAsync(after.GetTestClient(), cookie, "1");
        Assert.That(fresh, Is.Not.EqualTo(cookie), "a new session with a new ID");
    }

    [Test]
    public async Task Turning_the_option_off_keeps_sessions_when_Data_Protection_stays_registered()
    {
        var backend = new MemorySessionBackend();
        string cookie;
        await using (var on = await StartAsync(backend, protect: true))
        {
            cookie = await HitAsync(on.GetTestClient(), null, "1");
        }

        await using var off = await StartAsync(backend, protect: false);
        await HitAsync(off.GetTestClient(), cookie, "2");
    }

    private async Task<WebApplication> StartAsync(ISessionBackend backend, bool protect)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(_keyDirectory)).SetApplicationName("sessions-protection-tests");
        builder.Services.AddSessions(o => o.ProtectPayloads = protect).UseBackend("memory", _ => backend);
        var app = builder.Build();
        app.UseSessions();
        app.MapGet("/hit", (HttpContext ctx) =>
        {
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            return n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        await app.StartAsync();
        return app;
    }

    // Sends /hit with the cookie (if any), checks the count, and returns the cookie in force afterwards ("session=...").
    private static async Task<string> HitAsync(HttpClient client, string? cookie, string expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hit");
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        using var response = await client.SendAsync(request);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(expected));
        }

        return response.Headers.TryGetValues("Set-Cookie", out var set) ? set.Single().Split(';')[0] : cookie!;
    }
}
