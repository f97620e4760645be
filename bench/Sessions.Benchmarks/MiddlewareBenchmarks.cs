using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sessions.Benchmarks;

/// <summary>
/// Whole requests through an in-process <see cref="TestServer"/> (no sockets): the QuickStart contract's <c>/hit</c>,
/// <c>/read</c> and <c>/plain</c> with our middleware and the in-memory backend, against ASP.NET Core's built-in
/// <c>AddSession()</c> + <c>AddDistributedMemoryCache()</c> (the baseline, written as its docs advise:
/// <c>await Session.LoadAsync()</c> first). Every request carries a session cookie created in the setup, so these are
/// the steady-state costs of a returning visitor. The Ratio column is time ours / time built-in, per endpoint.
/// TestServer hands back the response as soon as it starts, while the built-in session still commits after the body is
/// written; so each app's outermost middleware signals when the whole pipeline has finished, and a request ends there.
/// </summary>
/// <remarks>
/// On a busy machine compare Min and Median rather than Mean (the Ratio column is mean-based); allocations are exact.
/// dotnet run -c Release --project bench/Sessions.Benchmarks -- --filter '*Middleware*' --job short
/// </remarks>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class MiddlewareBenchmarks
{
    private App _ours = null!;
    private App _builtin = null!;
    private App _bare = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ours = App.Start(Stack.Ours);
        _builtin = App.Start(Stack.Builtin);
        _bare = App.Start(Stack.None);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ours.Dispose();
        _builtin.Dispose();
        _bare.Dispose();
    }

    [Benchmark(Description = "ours")]
    [BenchmarkCategory("/hit")]
    public Task<HttpContext> OursHit() => _ours.GetAsync("/hit");

    [Benchmark(Description = "built-in", Baseline = true)]
    [BenchmarkCategory("/hit")]
    public Task<HttpContext> BuiltinHit() => _builtin.GetAsync("/hit");

    [Benchmark(Description = "ours")]
    [BenchmarkCategory("/read")]
    public Task<HttpContext> OursRead() => _ours.GetAsync("/read");

    [Benchmark(Description = "built-in", Baseline = true)]
    [BenchmarkCategory("/read")]
    public Task<HttpContext> BuiltinRead() => _builtin.GetAsync("/read");

    [Benchmark(Description = "ours")]
    [BenchmarkCategory("/plain")]
    public Task<HttpContext> OursPlain() => _ours.GetAsync("/plain");

    [Benchmark(Description = "built-in", Baseline = true)]
    [BenchmarkCategory("/plain")]
    public Task<HttpContext> BuiltinPlain() => _builtin.GetAsync("/plain");

    // What a request costs with no session middleware at all (TestServer, routing, the endpoint): the floor under /plain.
    [Benchmark(Description = "no session middleware")]
    [BenchmarkCategory("/plain")]
    public Task<HttpContext> NonePlain() => _bare.GetAsync("/plain");

    private enum Stack
    {
        Ours,
        Builtin,
        None,
    }

    /// <summary>One app on a TestServer, and the cookie of the session its first <c>/hit</c> created.</summary>
    private sealed class App : IDisposable
    {

        private readonly WebApplication _app;
        private readonly TestServer _server;
        private readonly string _cookie;

        private App(WebApplication app, bool withSessions)
        {
            _app = app;
            _server = app.GetTestServer();
            if (!withSessions)
            {
                _cookie = "";
                Expect("/plain", "ok");
                return;
            }

            var first = SendAsync("/hit", cookie: null).GetAwaiter().GetResult();
            var setCookie = first.Response.Headers.SetCookie.ToString();
            _cookie = setCookie.Split(';')[0];
            if (_cookie.Length == 0)
            {
                throw new InvalidOperationException("The first GET /hit set no cookie; the benchmark needs an existing session.");
            }

            // Each request must see the session the setup created, or the numbers measure something else.
            Expect("/hit", "2");
            Expect("/read", "2");
            Expect("/plain", "ok");
        }

        public static App Start(Stack stack)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseTestServer();
            builder.Logging.ClearProviders();
            if (stack == Stack.Ours)
            {
                builder.Services.AddSessions().AddMemoryBackend();
            }
            else if (stack == Stack.Builtin)
            {
                builder.Services.AddDistributedMemoryCache();
                builder.Services.AddSession();
            }

            var app = builder.Build();
            app.Use(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                finally
                {
                    CompletedRequests.MarkDone(context);
                }
            });
            if (stack == Stack.Ours)
            {
                app.UseSessions();
                app.MapGet("/hit", (HttpContext ctx) =>
                {
                    var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
                    ctx.Session.SetInt32("n", n);
                    return n.ToString(CultureInfo.InvariantCulture);
                });
                app.MapGet("/read", (HttpContext ctx) => (ctx.Session.GetInt32("n") ?? 0).ToString(CultureInfo.InvariantCulture));
            }
            else if (stack == Stack.Builtin)
            {
                app.UseSession();
                app.MapGet("/hit", async (HttpContext ctx) =>
                {
                    await ctx.Session.LoadAsync();
                    var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
                    ctx.Session.SetInt32("n", n);
                    return n.ToString(CultureInfo.InvariantCulture);
                });
                app.MapGet("/read", async (HttpContext ctx) =>
                {
                    await ctx.Session.LoadAsync();
                    return (ctx.Session.GetInt32("n") ?? 0).ToString(CultureInfo.InvariantCulture);
                });
            }

            app.MapGet("/plain", () => "ok");
            app.StartAsync().GetAwaiter().GetResult();
            return new App(app, stack != Stack.None);
        }

        public Task<HttpContext> GetAsync(string path) => SendAsync(path, _cookie);

        public void Dispose()
        {
            _app.StopAsync().GetAwaiter().GetResult();
            ((IDisposable)_app).Dispose();
        }

        private void Expect(string path, string body)
        {
            var context = GetAsync(path).GetAwaiter().GetResult();
            using var reader = new StreamReader(context.Response.Body);
            var actual = reader.ReadToEnd();
            if (context.Response.StatusCode != 200 || actual != body)
            {
                throw new InvalidOperationException($"GET {path} answered {context.Response.StatusCode} \"{actual}\"; expected 200 \"{body}\".");
            }
        }

        private Task<HttpContext> SendAsync(string path, string? cookie) => CompletedRequests.GetAsync(_server, path, cookie);
    }
}
