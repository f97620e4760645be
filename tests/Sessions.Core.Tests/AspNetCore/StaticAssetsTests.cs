using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Core.Tests.Support;
using Sessions.Memory;

namespace Sessions.Core.Tests.AspNetCore;

/// <summary>
/// Assets mapped by the framework's own <c>MapStaticAssets()</c> (the template's default since .NET 9) are endpoints that
/// run after <c>UseSessions()</c>: with a session cookie they must cost no store call (issue 21, fault 4).
/// </summary>
public sealed class StaticAssetsTests
{
    [Test]
    public async Task MapStaticAssets_assets_cost_no_store_call_with_a_session_cookie()
    {
        var root = Directory.CreateTempSubdirectory("sessions-assets-").FullName;
        try
        {
            var css = "body { color: black; }\n";
            await File.WriteAllTextAsync(Path.Combine(root, "site.css"), css);
            var manifest = Path.Combine(root, "app.staticwebassets.endpoints.json");

            // The endpoints manifest the SDK writes at build time (format: the SDK's StaticWebAssetEndpointsManifest).
            await File.WriteAllTextAsync(manifest, $$"""
                {"Version":1,"ManifestType":"Build","Endpoints":[{"Route":"site.css","AssetFile":"site.css","Selectors":[],
                 "ResponseHeaders":[{"Name":"Content-Length","Value":"{{css.Length}}"},{"Name":"Content-Type","Value":"text/css"},
                 {"Name":"ETag","Value":"\"abc\""},{"Name":"Last-Modified","Value":"Mon, 07 Dec 2026 00:00:00 GMT"}],
                 "EndpointProperties":[]}]}
                """);

            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { WebRootPath = root, ContentRootPath = root });
            builder.WebHost.UseTestServer();
            var backend = new CountingBackend(new MemorySessionBackend(new MemorySessionBackendOptions(), TimeProvider.System));
            builder.Services.AddSessions().UseBackend("counting", _ => backend);
            await using var app = builder.Build();
            app.UseSessions();
            app.MapStaticAssets(manifest);
            app.MapGet("/hit", (HttpContext ctx) =>
            {
                var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
                ctx.Session.SetInt32("n", n);
                return n;
            });
            await app.StartAsync();
            var client = app.GetTestClient();

            var first = await client.GetAsync(new Uri("/hit", UriKind.Relative));
            var cookie = first.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
            var before = backend.Calls;
            for (var i = 0; i < 20; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/site.css");
                request.Headers.Add("Cookie", cookie);
                using var response = await client.SendAsync(request);
                Assert.That((int)response.StatusCode, Is.EqualTo(200), "the asset is served");
                Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(css));
            }

            Assert.That(backend.Calls - before, Is.Zero, "20 asset requests with a session cookie must cost no store call");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
