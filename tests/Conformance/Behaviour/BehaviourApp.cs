using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Engine;

namespace Sessions.Conformance;

/// <summary>
/// One running test app: the <see cref="BehaviourEndpoints"/> behind <c>UseSessions()</c> on TestServer, with the backend
/// under test wrapped in an <see cref="ObservedBackend"/>, and either a manual clock or the real one.
/// </summary>
internal sealed class BehaviourApp : IAsyncDisposable
{
    /// <summary>The static file every app serves after <c>UseSessions()</c>: <c>/site.css</c>.</summary>
    public const string StaticFile = "/site.css";

    // One folder for every app of the run, holding site.css.
    private static readonly Lazy<string> StaticRoot = new(() =>
    {
        var root = Directory.CreateTempSubdirectory("sessions-kit-static-").FullName;
        File.WriteAllText(Path.Combine(root, StaticFile.TrimStart('/')), "body { color: black; }\n");
        return root;
    });

    private readonly WebApplication _app;
    private readonly HttpClient _client;
    private readonly FakeTimeProvider? _clock;
    private readonly CancellationTokenSource _deadline;

    private BehaviourApp(WebApplication app, HttpClient client, FakeTimeProvider? clock, LogSink logs, CancellationTokenSource deadline)
    {
        _app = app;
        _client = client;
        _clock = clock;
        _deadline = deadline;
        Logs = logs;
        Options = app.Services.GetRequiredService<IOptions<SessionOptions>>().Value;
        CookieName = Options.Cookie.EffectiveName;
        Backend = app.Services.GetRequiredService<ISessionBackend>() as ObservedBackend
            ?? throw new InvalidOperationException("The app's ISessionBackend is not the kit's wrapper.");
        Manager = app.Services.GetRequiredService<ISessionManager>();
        Store = app.Services.GetRequiredService<SessionStore>();
        Gates = app.Services.GetRequiredService<Gates>();
    }

    public ObservedBackend Backend { get; }

    public ISessionManager Manager { get; }

    public SessionStore Store { get; }

    public SessionOptions Options { get; }

    public string CookieName { get; }

    public Gates Gates { get; }

    public LogSink Logs { get; }

    /// <summary>Cancelled when the test has run far longer than any should, so a hang fails instead of stalling the run.</summary>
    public CancellationToken Token => _deadline.Token;

    /// <summary>The app's clock: the manual one when time is controllable, else the system clock.</summary>
    public DateTimeOffset Now => _clock?.GetUtcNow() ?? DateTimeOffset.UtcNow;

    public bool ControllableTime => _clock is not null;

    public static async Task<BehaviourApp> StartAsync(
        Action<ISessionsBuilder> addBackend,
        string fixtureName,
        bool controllableTime,
        Action<SessionOptions> configure,
        Action<ISessionsBuilder>? configureSessions,
        bool https,
        bool mvc = false,
        bool connections = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        var logs = new LogSink();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);

        var clock = controllableTime ? FakeTimeProviders.StartingNow() : null;
        if (clock is not null)
        {
            // Registered before AddSessions, which adds the system clock only when none is registered.
            builder.Services.AddSingleton<TimeProvider>(clock);
        }

        builder.Services.AddSingleton<Gates>();
        var sessions = builder.Services.AddSessions(configure);
        addBackend(sessions);
        var registration = builder.Services.LastOrDefault(d => d.ServiceType == typeof(SessionBackendRegistration))?.ImplementationInstance as SessionBackendRegistration;
        if (registration is null)
        {
            Assert.Fail($"{fixtureName}.AddBackend registered no backend: call the backend's builder extension (e.g. builder.AddMemoryBackend()), which calls ISessionsBuilder.UseBackend.");
        }

        // Wrap the backend under test, keeping its name (metrics, logs, health checks) and its factory.
        sessions.UseBackend(registration!.Name, services => ObservedBackend.Wrap(registration.Factory(services)));
        configureSessions?.Invoke(sessions);

        if (connections)
        {
            // Sessions in SignalR hubs and Blazor circuits (AddConnectionSessions); Blazor's services give the circuit
            // handler what it takes (NavigationManager). Detailed errors: a refused change reaches the client with its message.
            sessions.AddConnectionSessions();
            builder.Services.AddSignalR(o => o.EnableDetailedErrors = true);
            builder.Services.AddServerSideBlazor();
            builder.Services.AddSingleton<KitCircuits>();
        }

        if (mvc)
        {
            // MVC with TempData on the session, as an app that moves from AddSession() would have it (issue 21, fault 6).
            builder.Services.AddControllersWithViews().AddSessionStateTempDataProvider().AddApplicationPart(typeof(BehaviourApp).Assembly);
        }

        var app = builder.Build();
        app.UseSessions();

        // Static files served after UseSessions(), as in an app whose UseStaticFiles() comes later: they never touch the session.
        app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(StaticRoot.Value) });
        BehaviourEndpoints.Map(app);
        if (mvc)
        {
            app.MapControllers();
        }

        if (connections)
        {
            app.MapHub<KitSessionHub>(KitSessionHub.Path);
        }

        var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await app.StartAsync(deadline.Token);
            var client = app.GetTestClient();
            client.BaseAddress = new Uri(https ? "https://localhost/" : "http://localhost/");
            return new BehaviourApp(app, client, clock, logs, deadline);
        }
        catch
        {
            await app.DisposeAsync();
            deadline.Dispose();
            throw;
        }
    }

    /// <summary>The circuits the app's hub opened (<see cref="KitSessionHub.OpenCircuit"/>); only with connections.</summary>
    public KitCircuits Circuits => _app.Services.GetRequiredService<KitCircuits>();

    /// <summary>
    /// A real SignalR connection to the app's <see cref="KitSessionHub"/> over TestServer, sending <paramref name="cookie"/>
    /// as the session cookie (none when <see langword="null"/>), by long polling or WebSockets.
    /// </summary>
    public async Task<HubConnection> ConnectHubAsync(string? cookie, bool webSockets = false)
    {
        var server = _app.GetTestServer();
        var url = new Uri(_client.BaseAddress!, KitSessionHub.Path);
        var connection = new HubConnectionBuilder()
            .WithUrl(url, options =>
            {
                options.HttpMessageHandlerFactory = _ => server.CreateHandler();
                if (cookie is not null)
                {
                    options.Headers["Cookie"] = $"{CookieName}={cookie}";
                }

                if (webSockets)
                {
                    options.Transports = HttpTransportType.WebSockets;
                    options.SkipNegotiation = true;
                    options.WebSocketFactory = async (context, cancellationToken) =>
                    {
                        var client = server.CreateWebSocketClient();
                        if (cookie is not null)
                        {
                            client.ConfigureRequest = request => request.Headers.Cookie = $"{CookieName}={cookie}";
                        }

                        return await client.ConnectAsync(context.Uri, cancellationToken);
                    };
                }
                else
                {
                    options.Transports = HttpTransportType.LongPolling;
                }
            })
            .Build();
        await connection.StartAsync(Token);
        return connection;
    }

    /// <summary>A new client with an empty cookie jar.</summary>
    public Browser NewBrowser(string? userAgent = null) => new(this, userAgent);

    /// <summary>Moves the app's clock forward: instantly when it is the manual clock, by waiting when it is the real one.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        if (_clock is not null)
        {
            _clock.Advance(by);
        }
        else
        {
            await Task.Delay(by, Token);
        }
    }

    public async Task<Reply> SendAsync(string path, HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(Token, cancellationToken);
        using var response = await _client.SendAsync(request, linked.Token);
        return await Reply.ReadAsync(path, response, CookieName, linked.Token);
    }

    public async ValueTask DisposeAsync()
    {
        // Abort anything still in flight (a test that failed while a request waited at a gate) before stopping.
        await _deadline.CancelAsync();
        _client.Dispose();
        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        finally
        {
            await _app.DisposeAsync();
            _deadline.Dispose();
        }
    }
}
