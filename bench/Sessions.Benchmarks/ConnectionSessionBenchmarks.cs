using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sessions.AspNetCore;
using Sessions.Engine;

namespace Sessions.Benchmarks;

/// <summary>
/// What one session access costs from a SignalR hub or a Blazor circuit (issue 24), against an HTTP request that does the
/// same thing, all in one run, on one in-process <see cref="TestServer"/> with the memory backend and
/// <c>AddConnectionSessions()</c>. The baseline is QuickStart's <c>GET /hit</c> through <c>UseSessions()</c> (load, add
/// one to <c>"n"</c>, save). Against it: the hub method <c>Increment()</c> over a real SignalR connection (WebSockets
/// through <see cref="TestServer.CreateWebSocketClient"/>, the session cookie sent when it connected) doing the same
/// through <see cref="IServerSessionAccessor"/>; <c>Read()</c>; <c>Ping()</c>, a hub method that does not touch the
/// session (the SignalR floor); and the accessor path alone as a circuit runs it (a DI scope outside any request, its
/// accessor given the connection the way <c>SessionCircuitHandler</c> gives it), then the engine calls under it.
/// Every path uses the one session the setup created; the time between accesses is far below <c>TouchAfter</c>, so no
/// touches are due (the steady state of a busy component).
/// </summary>
/// <remarks>
/// dotnet run -c Release --project bench/Sessions.Benchmarks -- --filter '*ConnectionSession*' --job short
/// </remarks>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class ConnectionSessionBenchmarks
{

    private WebApplication _app = null!;
    private TestServer _server = null!;
    private string _cookie = null!;
    private HubConnection _hub = null!;
    private IServiceScope _circuitScope = null!;
    private IServerSessionAccessor _accessor = null!;
    private SessionStore _store = null!;
    private string _sessionId = null!;

    [GlobalSetup]
    public void Setup()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddSignalR();
        builder.Services.AddSessions().AddMemoryBackend().AddConnectionSessions();
        _app = builder.Build();
        _app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            finally
            {
                // Only the benchmark's requests carry one (not the hub's WebSocket request).
                CompletedRequests.MarkDone(context);
            }
        });
        _app.UseWebSockets();
        _app.UseSessions();
        _app.MapGet("/hit", (HttpContext ctx) =>
        {
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            return n.ToString(CultureInfo.InvariantCulture);
        });
        _app.MapGet("/plain", () => "ok");
        _app.MapHub<CounterHub>("/hubs/counter");
        _app.StartAsync().GetAwaiter().GetResult();
        _server = _app.GetTestServer();

        var first = SendAsync("/hit", cookie: null).GetAwaiter().GetResult();
        _cookie = first.Response.Headers.SetCookie.ToString().Split(';')[0];
        if (_cookie.Length == 0)
        {
            throw new InvalidOperationException("The first GET /hit set no cookie; the benchmark needs an existing session.");
        }

        _hub = new HubConnectionBuilder()
            .WithUrl(new Uri(_server.BaseAddress, "hubs/counter"), HttpTransportType.WebSockets, options =>
            {
                options.SkipNegotiation = true;
                options.WebSocketFactory = async (context, cancellationToken) =>
                {
                    var client = _server.CreateWebSocketClient();
                    client.ConfigureRequest = request => request.Headers.Cookie = _cookie;
                    return await client.ConnectAsync(context.Uri, cancellationToken);
                };
            })
            .Build();
        _hub.StartAsync().GetAwaiter().GetResult();

        // A circuit's accessor: scoped to the circuit, outside any request, given the connection its opening request carried.
        _circuitScope = _app.Services.CreateScope();
        var accessor = _circuitScope.ServiceProvider.GetRequiredService<ServerSessionAccessor>();
        var opening = new DefaultHttpContext();
        opening.Request.Headers.Cookie = _cookie;
        accessor.Connection = _app.Services.GetRequiredService<SessionConnectionFactory>().Open(opening).Copy();
        _accessor = accessor;
        _store = _app.Services.GetRequiredService<SessionStore>();
        _sessionId = SessionIdOf(_app.Services, opening);

        // Every path must see and change the session the setup created, or the numbers measure something else.
        Expect(HitAsync().GetAwaiter().GetResult(), "2", "GET /hit");
        Expect(HubIncrement().GetAwaiter().GetResult(), 3, "hub Increment()");
        Expect(HubRead().GetAwaiter().GetResult(), 3, "hub Read()");
        Expect(CircuitIncrement().GetAwaiter().GetResult(), 4, "circuit accessor increment");
        Expect(CircuitLoad().GetAwaiter().GetResult(), 4, "circuit accessor LoadAsync");
        Expect(StoreLoadChangeCommit().GetAwaiter().GetResult(), 5, "SessionStore load + change + commit");
        Expect(PlainAsync().GetAwaiter().GetResult(), "ok", "GET /plain");
        Expect(HubPing().GetAwaiter().GetResult(), 0, "hub Ping()");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _hub.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _circuitScope.Dispose();
        _app.StopAsync().GetAwaiter().GetResult();
        ((IDisposable)_app).Dispose();
    }

    [Benchmark(Baseline = true, Description = "request GET /hit (UseSessions)")]
    public async Task<string> HitAsync()
    {
        var context = await SendAsync("/hit", _cookie);
        using var reader = new StreamReader(context.Response.Body);
        return await reader.ReadToEndAsync();
    }

    [Benchmark(Description = "request GET /plain (session unused)")]
    public async Task<string> PlainAsync()
    {
        var context = await SendAsync("/plain", _cookie);
        using var reader = new StreamReader(context.Response.Body);
        return await reader.ReadToEndAsync();
    }

    [Benchmark(Description = "hub Increment() over WebSockets")]
    public Task<int> HubIncrement() => _hub.InvokeAsync<int>(nameof(CounterHub.Increment));

    [Benchmark(Description = "hub Read() over WebSockets")]
    public Task<int> HubRead() => _hub.InvokeAsync<int>(nameof(CounterHub.Read));

    [Benchmark(Description = "hub Ping() (no session)")]
    public Task<int> HubPing() => _hub.InvokeAsync<int>(nameof(CounterHub.Ping));

    [Benchmark(Description = "circuit: accessor load+set+commit")]
    public Task<int> CircuitIncrement() => IncrementAsync(_accessor, CancellationToken.None);

    [Benchmark(Description = "circuit: accessor LoadAsync + get")]
    public async Task<int> CircuitLoad() => (await _accessor.LoadAsync()).GetInt32("n") ?? 0;

    [Benchmark(Description = "engine: SessionStore load+set+commit")]
    public async Task<int> StoreLoadChangeCommit()
    {
        var data = await _store.LoadAsync(_sessionId, CancellationToken.None) ?? throw new InvalidOperationException("The session is gone.");
        var n = (data.TryGetValue("n", out var bytes) ? ReadInt32(bytes) : 0) + 1;
        data.Set("n", [(byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n]);
        await _store.CommitAsync(data, CancellationToken.None);
        return n;
    }

    /// <summary>QuickStart's and the BlazorApp sample's increment, through the accessor.</summary>
    internal static async Task<int> IncrementAsync(IServerSessionAccessor sessions, CancellationToken cancellationToken)
    {
        var session = await sessions.LoadAsync(cancellationToken);
        var n = (session.GetInt32("n") ?? 0) + 1;
        session.SetInt32("n", n);
        await session.CommitAsync(cancellationToken);
        return n;
    }

    /// <summary>The verified session ID a request carries, read as the middleware reads it.</summary>
    internal static string SessionIdOf(IServiceProvider services, HttpContext request) =>
        SessionMiddleware.ReadIds(
            request,
            services.GetRequiredService<ISessionIdResolver>(),
            services.GetRequiredService<Sessions.Ids.ISessionIdProtector>(),
            services.GetRequiredService<Sessions.Ids.ISessionIdGenerator>())?[0]
        ?? throw new InvalidOperationException("The request carries no session ID.");

    // SetInt32's encoding (big-endian), so the engine path stores what the others read.
    private static int ReadInt32(byte[] bytes) => bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3];

    private static void Expect<T>(T actual, T expected, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(actual, expected))
        {
            throw new InvalidOperationException($"{what} answered {actual}; expected {expected}.");
        }
    }

    private Task<HttpContext> SendAsync(string path, string? cookie) => CompletedRequests.GetAsync(_server, path, cookie);

    /// <summary>The BlazorApp sample's hub, plus a method that does not use the session.</summary>
    public sealed class CounterHub(IServerSessionAccessor sessions) : Hub
    {
        public Task<int> Increment() => IncrementAsync(sessions, Context.ConnectionAborted);

        public async Task<int> Read() => (await sessions.LoadAsync(Context.ConnectionAborted)).GetInt32("n") ?? 0;

        public int Ping() => 0;
    }
}
