using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace Sessions.Core.Tests.AspNetCore;

/// <summary>With the header transport, a response that used the session varies on that header, so caches keep clients apart.</summary>
public sealed class HeaderTransportVaryTests
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task A_response_that_used_the_session_varies_on_the_session_header(bool alsoCookie)
    {
        await using var app = await StartAsync(alsoCookie);
        var client = app.GetTestClient();

        var first = await client.GetAsync(new Uri("/hit", UriKind.Relative));
        using var second = new HttpRequestMessage(HttpMethod.Get, "/hit");
        second.Headers.Add("X-Session-Id", first.Headers.GetValues("X-Session-Id").Single());
        var again = await client.SendAsync(second);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await again.Content.ReadAsStringAsync(), Is.EqualTo("2"), "the ID sent in the header found the session");
            Assert.That(first.Headers.Vary, Does.Contain("X-Session-Id"), "a new session's response");
            Assert.That(again.Headers.Vary, Does.Contain("X-Session-Id"), "a loaded session's response");
            Assert.That(again.Headers.Vary.Count(v => v == "X-Session-Id"), Is.EqualTo(1), "named once");
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_response_that_did_not_use_the_session_does_not_vary(bool alsoCookie)
    {
        await using var app = await StartAsync(alsoCookie);

        var response = await app.GetTestClient().GetAsync(new Uri("/plain", UriKind.Relative));

        Assert.That(response.Headers.Vary, Is.Empty);
    }

    private static async Task<WebApplication> StartAsync(bool alsoCookie)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        var sessions = builder.Services.AddSessions().AddMemoryBackend();
        _ = alsoCookie ? sessions.UseHeaderOrCookieIds() : sessions.UseHeaderIds();
        var app = builder.Build();
        app.UseSessions();
        app.MapGet("/hit", (HttpContext ctx) =>
        {
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            return n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        app.MapGet("/plain", () => "ok");
        await app.StartAsync();
        return app;
    }
}
