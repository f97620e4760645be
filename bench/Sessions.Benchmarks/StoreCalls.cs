using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Sessions.AspNetCore;
using Sessions.Backends;
using Sessions.Memory;

namespace Sessions.Benchmarks;

/// <summary>
/// Counts the backend calls (get, set, touch, remove) of one session access from a request, a circuit's accessor and a
/// circuit's keep-alive, and what an idle circuit costs the store per hour (issue 24). The memory backend sits behind a
/// counting wrapper; a manual clock (<see cref="FakeTimeProvider"/>) drives the engine and a real
/// <c>SessionCircuitHandler</c>'s keep-alive timer. Not a BenchmarkDotNet benchmark: counts are exact, not timed.
/// </summary>
/// <remarks>dotnet run -c Release --project bench/Sessions.Benchmarks -- --store-calls</remarks>
internal static class StoreCalls
{

    public static async Task RunAsync()
    {
        Console.WriteLine("Defaults: IdleTimeout 20 min, TouchAfter 1 min, KeepAliveInterval IdleTimeout/3; memory backend behind a counting wrapper.");
        Console.WriteLine();
        Console.WriteLine("| access | session | gets | sets | touches | removes |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (var kind in new[] { "anonymous", "persistent", "signed-in" })
        {
            await using var app = await CountingApp.StartAsync(kind, keepAlive: null);
            var minute = TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1);

            await app.Row("request GET /hit", kind, () => app.GetAsync("/hit"));
            await app.Row("request GET /read, touch not due", kind, () => app.GetAsync("/read"));
            app.Clock.Advance(minute);
            await app.Row("request GET /read, touch due", kind, () => app.GetAsync("/read"));
            app.Clock.Advance(minute);
            await app.Row("request GET /hit, touch due", kind, () => app.GetAsync("/hit"));

            var accessor = app.CircuitAccessor();
            await app.Row("circuit LoadAsync (first, touch not due)", kind, () => accessor.LoadAsync().AsTask());
            await app.Row("circuit LoadAsync, touch not due", kind, () => accessor.LoadAsync().AsTask());
            app.Clock.Advance(minute);
            await app.Row("circuit LoadAsync, touch due", kind, () => accessor.LoadAsync().AsTask());
            await app.Row("circuit LoadAsync + SetInt32 + CommitAsync, touch not due", kind, () => ConnectionSessionBenchmarks.IncrementAsync(accessor, CancellationToken.None));
            app.Clock.Advance(minute);
            await app.Row("circuit LoadAsync + SetInt32 + CommitAsync, touch due", kind, () => ConnectionSessionBenchmarks.IncrementAsync(accessor, CancellationToken.None));
        }

        Console.WriteLine();
        Console.WriteLine("Idle circuits: a real SessionCircuitHandler, its keep-alive timer on the manual clock, advanced 1 s at a time for 1 hour.");
        Console.WriteLine();
        Console.WriteLine("| keep-alive interval | session | ticks/h | gets/h | sets/h | touches/h | removes/h | per 10,000 circuits: reads/s | writes/s | session alive after 1 h |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var interval in new TimeSpan?[] { null, TimeSpan.FromSeconds(30) })
        {
            foreach (var kind in new[] { "anonymous", "persistent", "signed-in" })
            {
                await using var app = await CountingApp.StartAsync(kind, interval);
                await app.IdleCircuitHourAsync(interval is null ? "default (6 min 40 s)" : "30 s (below TouchAfter)", kind);
            }
        }
    }

    /// <summary>Counts the calls the engine makes to the backend it wraps.</summary>
    private sealed class CountingBackend(ISessionBackend inner) : ISessionBackend
    {
        private long _gets;
        private long _sets;
        private long _removes;
        private long _touches;

        public (long Gets, long Sets, long Touches, long Removes) Counts =>
            (Interlocked.Read(ref _gets), Interlocked.Read(ref _sets), Interlocked.Read(ref _touches), Interlocked.Read(ref _removes));

        public ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _gets);
            return inner.GetAsync(key, cancellationToken);
        }

        public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _sets);
            return inner.SetAsync(key, record, condition, cancellationToken);
        }

        public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _removes);
            return inner.RemoveAsync(key, expectedVersion, cancellationToken);
        }

        public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _touches);
            return inner.TouchAsync(key, expiresAt, cancellationToken);
        }
    }

    /// <summary>The circuit handler's navigation; the keep-alive never navigates unless the session ends and the app asked for it.</summary>
    private sealed class NoNavigation : NavigationManager
    {
        public NoNavigation() => Initialize("http://localhost/", "http://localhost/");

        protected override void NavigateToCore(string uri, NavigationOptions options) =>
            throw new InvalidOperationException("The idle circuit navigated: its session ended.");
    }

    private sealed class CountingApp : IAsyncDisposable
    {
        private readonly List<IServiceScope> _scopes = [];
        private WebApplication _app = null!;
        private TestServer _server = null!;
        private CountingBackend _backend = null!;
        private string _cookie = null!;

        public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));

        public static async Task<CountingApp> StartAsync(string kind, TimeSpan? keepAlive)
        {
            var app = new CountingApp();
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseTestServer();
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton<TimeProvider>(app.Clock);
            builder.Services.AddSessions()
                .UseBackend("memory", sp => app._backend = new CountingBackend(new MemorySessionBackend(null, sp.GetRequiredService<TimeProvider>())))
                .AddConnectionSessions(o => o.KeepAliveInterval = keepAlive);
            var web = app._app = builder.Build();
            web.Use(async (context, next) =>
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
            web.UseSessions();
            web.MapGet("/hit", (HttpContext ctx) =>
            {
                var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
                ctx.Session.SetInt32("n", n);
                return n.ToString(CultureInfo.InvariantCulture);
            });
            web.MapGet("/read", (HttpContext ctx) => (ctx.Session.GetInt32("n") ?? 0).ToString(CultureInfo.InvariantCulture));
            web.MapGet("/start", (HttpContext ctx) =>
            {
                var session = ctx.GetServerSession();
                session.SetInt32("n", 0);
                if (kind == "persistent")
                {
                    session.IsPersistent = true;
                }
                else if (kind == "signed-in")
                {
                    session.UserId = "alice";
                }

                return "ok";
            });
            await web.StartAsync();
            app._server = web.GetTestServer();
            var start = await app.SendAsync("/start", cookie: null);
            app._cookie = start.Response.Headers.SetCookie.ToString().Split(';')[0];
            if (app._cookie.Length == 0)
            {
                throw new InvalidOperationException("GET /start set no cookie.");
            }

            return app;
        }

        public Task GetAsync(string path) => SendAsync(path, _cookie);

        /// <summary>A circuit's accessor: its own DI scope, outside any request, given the connection its opening request carried.</summary>
        public IServerSessionAccessor CircuitAccessor()
        {
            var scope = _app.Services.CreateScope();
            _scopes.Add(scope);
            var accessor = scope.ServiceProvider.GetRequiredService<ServerSessionAccessor>();
            accessor.Connection = _app.Services.GetRequiredService<SessionConnectionFactory>().Open(Opening()).Copy();
            return accessor;
        }

        public async Task Row(string access, string kind, Func<Task> action)
        {
            var before = _backend.Counts;
            await action();
            var after = _backend.Counts;
            Console.WriteLine($"| {access} | {kind} | {after.Gets - before.Gets} | {after.Sets - before.Sets} | {after.Touches - before.Touches} | {after.Removes - before.Removes} |");
        }

        /// <summary>Opens a circuit as Blazor does (a real SessionCircuitHandler), leaves it idle for an hour of the manual clock.</summary>
        public async Task IdleCircuitHourAsync(string intervalName, string kind)
        {
            var scope = _app.Services.CreateScope();
            _scopes.Add(scope);
            var services = scope.ServiceProvider;
            var factory = _app.Services.GetRequiredService<SessionConnectionFactory>();
            var handler = new SessionCircuitHandler(services.GetRequiredService<ServerSessionAccessor>(), factory, new NoNavigation(), new HttpContextAccessor(), Clock);

            // The circuit opens on the hub connection of Blazor's request, which carried the cookie.
            using (SessionConnection.Enter(factory.Open(Opening())))
            {
                await handler.OnCircuitOpenedAsync(null!, CancellationToken.None);
            }

            await handler.OnConnectionUpAsync(null!, CancellationToken.None);

            var ticking = typeof(SessionCircuitHandler).GetField("_ticking", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
            var before = _backend.Counts;
            var ticks = 0;
            var last = before;
            for (var second = 0; second < 3600; second++)
            {
                Clock.Advance(TimeSpan.FromSeconds(1));
                for (var wait = 0; (int)ticking.GetValue(handler)! != 0; wait++)
                {
                    if (wait > 5000)
                    {
                        throw new TimeoutException("A keep-alive tick did not finish.");
                    }

                    await Task.Delay(1);
                }

                var now = _backend.Counts;
                if (now.Gets != last.Gets)
                {
                    ticks++;
                }

                last = now;
            }

            var after = _backend.Counts;
            handler.Dispose();
            var gets = after.Gets - before.Gets;
            var writes = after.Sets - before.Sets + after.Touches - before.Touches + after.Removes - before.Removes;
            var alive = await _app.Services.GetRequiredService<Sessions.Engine.SessionStore>()
                .LoadAsync(ConnectionSessionBenchmarks.SessionIdOf(_app.Services, Opening()), CancellationToken.None) is not null;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {intervalName} | {kind} | {ticks} | {gets} | {after.Sets - before.Sets} | {after.Touches - before.Touches} | {after.Removes - before.Removes} | {gets * 10_000 / 3600.0:F1} | {writes * 10_000 / 3600.0:F1} | {(alive ? "yes" : "NO")} |"));
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var scope in _scopes)
            {
                scope.Dispose();
            }

            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private DefaultHttpContext Opening()
        {
            var opening = new DefaultHttpContext();
            opening.Request.Headers.Cookie = _cookie;
            return opening;
        }

        private async Task<HttpContext> SendAsync(string path, string? cookie)
        {
            var context = await CompletedRequests.GetAsync(_server, path, cookie);
            if (context.Response.StatusCode != 200)
            {
                throw new InvalidOperationException($"GET {path} answered {context.Response.StatusCode}.");
            }

            return context;
        }
    }
}
