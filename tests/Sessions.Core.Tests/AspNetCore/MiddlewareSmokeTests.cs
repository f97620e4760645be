using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace Sessions.Core.Tests.AspNetCore;

public sealed class MiddlewareSmokeTests
{
    [Test]
    public async Task Hit_counts_across_requests_with_the_cookie()
    {
        await using var app = await StartAsync();
        var client = app.GetTestClient();

        var first = await client.GetAsync(new Uri("/hit", UriKind.Relative));
        var cookie = first.Headers.GetValues("Set-Cookie").Single();
        Assert.That(await first.Content.ReadAsStringAsync(), Is.EqualTo("1"));
        Assert.That(cookie, Does.StartWith("session=").And.Contain("httponly").And.Contain("samesite=lax"));

        using var second = new HttpRequestMessage(HttpMethod.Get, "/hit");
        second.Headers.Add("Cookie", cookie.Split(';')[0]);
        var response = await client.SendAsync(second);
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("2"));
        Assert.That(response.Headers.Contains("Set-Cookie"), Is.False, "saved, but the client holds the cookie already: none is sent again");
        Assert.That(response.Headers.Vary, Does.Contain("Cookie"));
    }

    [Test]
    public async Task Plain_without_cookie_sets_nothing()
    {
        await using var app = await StartAsync();
        var response = await app.GetTestClient().GetAsync(new Uri("/plain", UriKind.Relative));

        Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
        Assert.That(response.Headers.Vary, Is.Empty);
    }

    [Test]
    public async Task Write_after_response_started_throws()
    {
        await using var app = await StartAsync();
        var response = await app.GetTestClient().GetAsync(new Uri("/late", UriKind.Relative));

        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("InvalidOperationException"));
    }

    private static async Task<WebApplication> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSessions().AddMemoryBackend();
        var app = builder.Build();
        app.UseSessions();
        app.MapGet("/hit", (HttpContext ctx) =>
        {
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            return n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        app.MapGet("/plain", () => "ok");
        app.MapGet("/late", async (HttpContext ctx) =>
        {
            await ctx.Response.WriteAsync("started;");
            try
            {
                ctx.Session.SetInt32("n", 1);
            }
            catch (InvalidOperationException ex)
            {
                await ctx.Response.WriteAsync(ex.GetType().Name);
            }
        });
        await app.StartAsync();
        return app;
    }
}
