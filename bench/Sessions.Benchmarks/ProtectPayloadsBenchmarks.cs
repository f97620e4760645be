using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption;
using Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sessions.Engine;
using Sessions.Memory;

namespace Sessions.Benchmarks;

/// <summary>
/// The cost of <see cref="SessionOptions.ProtectPayloads"/> on the in-memory backend, against the option off (the baseline,
/// measured in the same run), in two sizes: the engine's load + modify + save of one session (the storage half of a
/// <c>/hit</c>, where the cost is most visible), and a whole <c>GET /hit</c> through an in-process TestServer (the
/// QuickStart endpoint: load, increment a counter, save). Data Protection is configured as <c>AddDataProtection()</c>
/// configures it (AES-256-CBC + HMACSHA256, keys in a temporary directory); the "on, AES-256-GCM" rows show an app that
/// chose GCM with <c>UseCryptographicAlgorithms</c>. With the option on, Data Protection only wraps the codec's data key (once per
/// lifetime) and unwraps it once per reader; each record is AES-256-GCM (format 0xD3).
/// </summary>
/// <remarks>dotnet run -c Release --project bench/Sessions.Benchmarks -- --filter '*ProtectPayloads*' --job short</remarks>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ProtectPayloadsBenchmarks
{
    private static readonly object s_done = new();

    private readonly string _keys = Path.Combine(Path.GetTempPath(), "sessions-bench-dp-" + Guid.NewGuid().ToString("N"));
    private readonly List<ServiceProvider> _providers = [];
    private (SessionStore Store, string Id) _engineOff;
    private (SessionStore Store, string Id) _engineOn;
    private (SessionStore Store, string Id) _engineGcm;
    private (WebApplication App, string Cookie) _hitOff;
    private (WebApplication App, string Cookie) _hitOn;
    private (WebApplication App, string Cookie) _hitGcm;

    [GlobalSetup]
    public void Setup()
    {
        _engineOff = Engine(protect: false, gcm: false);
        _engineOn = Engine(protect: true, gcm: false);
        _engineGcm = Engine(protect: true, gcm: true);
        _hitOff = StartApp(protect: false, gcm: false);
        _hitOn = StartApp(protect: true, gcm: false);
        _hitGcm = StartApp(protect: true, gcm: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (app, _) in new[] { _hitOff, _hitOn, _hitGcm })
        {
            app.StopAsync().GetAwaiter().GetResult();
            ((IDisposable)app).Dispose();
        }

        _providers.ForEach(p => p.Dispose());
        Directory.Delete(_keys, recursive: true);
    }

    [Benchmark(Description = "off", Baseline = true)]
    [BenchmarkCategory("engine: load + modify + save")]
    public Task<SessionCommitResult> EngineOff() => LoadModifySaveAsync(_engineOff);

    [Benchmark(Description = "on")]
    [BenchmarkCategory("engine: load + modify + save")]
    public Task<SessionCommitResult> EngineOn() => LoadModifySaveAsync(_engineOn);

    [Benchmark(Description = "on, AES-256-GCM")]
    [BenchmarkCategory("engine: load + modify + save")]
    public Task<SessionCommitResult> EngineGcm() => LoadModifySaveAsync(_engineGcm);

    [Benchmark(Description = "off", Baseline = true)]
    [BenchmarkCategory("GET /hit")]
    public Task<HttpContext> HitOff() => SendAsync(_hitOff.App, _hitOff.Cookie);

    [Benchmark(Description = "on")]
    [BenchmarkCategory("GET /hit")]
    public Task<HttpContext> HitOn() => SendAsync(_hitOn.App, _hitOn.Cookie);

    [Benchmark(Description = "on, AES-256-GCM")]
    [BenchmarkCategory("GET /hit")]
    public Task<HttpContext> HitGcm() => SendAsync(_hitGcm.App, _hitGcm.Cookie);

    private static async Task<SessionCommitResult> LoadModifySaveAsync((SessionStore Store, string Id) engine)
    {
        var session = (await engine.Store.LoadAsync(engine.Id, CancellationToken.None))!;
        session.Set("n", [0, 0, 0, 43]);
        return await engine.Store.CommitAsync(session, CancellationToken.None);
    }

    private void AddDataProtection(IServiceCollection services, bool gcm)
    {
        // One ring per algorithm: a key keeps the algorithm it was created with, so rings must not share a directory.
        var directory = new DirectoryInfo(Path.Combine(_keys, gcm ? "aes-256-gcm" : "default"));
        var dp = services.AddDataProtection().PersistKeysToFileSystem(directory).SetApplicationName("sessions-bench");
        if (gcm)
        {
            dp.UseCryptographicAlgorithms(new AuthenticatedEncryptorConfiguration
            {
                EncryptionAlgorithm = EncryptionAlgorithm.AES_256_GCM,
                ValidationAlgorithm = ValidationAlgorithm.HMACSHA256,
            });
        }
    }

    // The session of EngineBenchmarks: a user ID, a counter, a name and a 200-byte blob.
    private (SessionStore, string) Engine(bool protect, bool gcm)
    {
        var services = new ServiceCollection();
        AddDataProtection(services, gcm);
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        var store = new SessionStore(
            new MemorySessionBackend(), new SessionOptions { ProtectPayloads = protect }, "memory", null, null, null, provider.GetRequiredService<IDataProtectionProvider>());
        var session = store.CreateNew();
        session.UserId = "ada@example.com";
        session.Set("n", [0, 0, 0, 42]);
        session.Set("name", "Ada Lovelace"u8);
        session.Set("blob", new byte[200]);
        store.CommitAsync(session, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var check = LoadModifySaveAsync((store, session.Id)).GetAwaiter().GetResult();
        if (check.Outcome != SessionCommitOutcome.Saved)
        {
            throw new InvalidOperationException($"load + modify + save answered {check.Outcome}; expected Saved.");
        }

        return (store, session.Id);
    }

    private (WebApplication, string) StartApp(bool protect, bool gcm)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        AddDataProtection(builder.Services, gcm);
        builder.Services.AddSessions(o => o.ProtectPayloads = protect).AddMemoryBackend();
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            finally
            {
                ((TaskCompletionSource)context.Items[s_done]!).SetResult();
            }
        });
        app.UseSessions();
        app.MapGet("/hit", (HttpContext ctx) =>
        {
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            return n.ToString(CultureInfo.InvariantCulture);
        });
        app.StartAsync().GetAwaiter().GetResult();

        var first = SendAsync(app, null).GetAwaiter().GetResult();
        var cookie = first.Response.Headers.SetCookie.ToString().Split(';')[0];
        var second = SendAsync(app, cookie).GetAwaiter().GetResult();
        using var reader = new StreamReader(second.Response.Body);
        if (cookie.Length == 0 || reader.ReadToEnd() != "2")
        {
            throw new InvalidOperationException("GET /hit did not count on the session the setup created; the benchmark would measure something else.");
        }

        // The option reached the engine: the stored record is encrypted (first byte 0xD3) exactly when it is on.
        var store = app.Services.GetRequiredService<SessionStore>();
        var id = Uri.UnescapeDataString(cookie.Split('=', 2)[1]);
        var record = store.Backend.GetAsync(store.Keys.ForSession(id)!, CancellationToken.None).AsTask().GetAwaiter().GetResult()!;
        if ((record.Payload.Span[0] == Sessions.Envelope.PayloadCodec.EnvelopeEncryptedFormatByte) != protect)
        {
            throw new InvalidOperationException($"The stored record starts with 0x{record.Payload.Span[0]:X2} with ProtectPayloads {protect}.");
        }

        return (app, cookie);
    }

    private static async Task<HttpContext> SendAsync(WebApplication app, string? cookie)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var context = await app.GetTestServer().SendAsync(c =>
        {
            c.Request.Method = HttpMethods.Get;
            c.Request.Path = "/hit";
            if (cookie is not null)
            {
                c.Request.Headers.Cookie = cookie;
            }

            c.Items[s_done] = done;
        });
        await done.Task;
        return context;
    }
}
