using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.Tool.Tests.Support;

/// <summary>
/// A real redis-server shared by the run (<see cref="ToolTestServers"/>, stopped when the run ends), a fresh directory and key prefix per test, an appsettings.json that
/// names both stores (the way an app's does), an app on TestServer that creates sessions through the middleware, and
/// the tool run in-process on that settings file.
/// </summary>
public abstract class ToolTestBase
{
    /// <summary>The test's scratch directory (holds appsettings.json and the file-system store).</summary>
    protected string WorkDirectory { get; private set; } = string.Empty;

    /// <summary>The test's appsettings.json.</summary>
    protected string ConfigPath => Path.Combine(WorkDirectory, "appsettings.json");

    /// <summary>The Redis endpoint of the run's server.</summary>
    protected string RedisEndpoint { get; private set; } = string.Empty;

    [OneTimeSetUp]
    public async Task StartRedisAsync() => RedisEndpoint = (await ToolTestServers.RedisAsync()).Endpoint;

    [SetUp]
    public void CreateSettings()
    {
        WorkDirectory = Path.Combine(Path.GetTempPath(), "sessions-tool-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(WorkDirectory);
        WriteSettings(backend: "filesystem");
    }

    [TearDown]
    public void RemoveWorkDirectory()
    {
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort; the directory is under the temp folder.
        }
    }

    /// <summary>Writes the app's settings: <c>Sessions:Backend</c> = <paramref name="backend"/>, both stores configured, a per-test key prefix.</summary>
    protected void WriteSettings(string backend, string? redisEndpoint = null, string idleTimeout = "00:20:00", string memcachedServers = "127.0.0.1:1")
    {
        var settings = new
        {
            Sessions = new
            {
                Backend = backend,
                KeyPrefix = $"t{Path.GetFileName(WorkDirectory)[..12]}:",
                IdleTimeout = idleTimeout,
                FileSystem = new { Directory = Path.Combine(WorkDirectory, "store") },
                Redis = new { Configuration = (redisEndpoint ?? RedisEndpoint) + ",connectTimeout=2000,abortConnect=false" },
                Memcached = new { Servers = memcachedServers },
            },
        };
        File.WriteAllText(ConfigPath, JsonSerializer.Serialize(settings));
    }

    /// <summary>Runs the tool with <c>--config</c> set to the test's settings; returns exit code, standard output and error.</summary>
    protected async Task<ToolRun> RunToolAsync(params string[] args) => await RunToolAsync(CancellationToken.None, null, args);

    /// <summary>Runs the tool with a cancellation token and a copy progress hook.</summary>
    private protected async Task<ToolRun> RunToolAsync(CancellationToken cancellationToken, Action<CopyCounts>? copyProgress, params string[] args)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        var code = await SessionsCli.RunAsync([.. args, "--config", ConfigPath], output, error, cancellationToken, copyProgress);
        var run = new ToolRun(code, output.ToString(), error.ToString());
        await TestContext.Progress.WriteLineAsync($"sessions {string.Join(' ', args)} -> {code}\n{run.Output}{run.Error}");
        return run;
    }

    /// <summary>Starts the app on the test's settings (the store named by <c>Sessions:Backend</c>, or <paramref name="backend"/>).</summary>
    protected async Task<TestApp> StartAppAsync(string? backend = null, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddJsonFile(ConfigPath);
        if (backend is not null)
        {
            builder.Configuration["Sessions:Backend"] = backend;
        }

        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.Services.AddSessions(builder.Configuration.GetSection("Sessions"))
            .AddFileSystemBackend()
            .AddRedisBackend()
            .AddMemcachedBackend();
        var app = builder.Build();
        app.UseSessions();
        app.MapGet("/hit", (HttpContext ctx) =>
        {
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            return n.ToString(CultureInfo.InvariantCulture);
        });
        app.MapGet("/read", (HttpContext ctx) => (ctx.Session.GetInt32("n") ?? 0).ToString(CultureInfo.InvariantCulture));
        app.MapGet("/login", (HttpContext ctx, string user) =>
        {
            var session = ctx.GetServerSession();
            session.UserId = user;
            session.SetString("greeting", "hello " + user);
            return "ok";
        });
        app.MapGet("/whoami", (HttpContext ctx) => ctx.GetServerSession().UserId ?? string.Empty);
        await app.StartAsync();
        return new TestApp(app);
    }

    /// <summary>Parses the tool's JSON output.</summary>
    protected static JsonElement Json(ToolRun run)
    {
        Assert.That(run.Code, Is.Zero, run.Error);
        using var document = JsonDocument.Parse(run.Output);
        return document.RootElement.Clone();
    }
}

/// <summary>One run of the tool.</summary>
public sealed record ToolRun(int Code, string Output, string Error);

/// <summary>The app on TestServer, and clients that keep their session cookie.</summary>
public sealed class TestApp(WebApplication app) : IAsyncDisposable
{
    public TestClient NewClient() => new() { Http = app.GetTestClient() };

    /// <summary>Points a client (and its cookie) at this app, as a browser keeps its cookie across an app restart.</summary>
    public TestClient Attach(TestClient client)
    {
        client.Http = app.GetTestClient();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>A browser stand-in: sends back the session cookie it was given.</summary>
public sealed class TestClient
{
    /// <summary>The app it talks to.</summary>
    public HttpClient Http { get; set; } = null!;

    /// <summary>The session cookie as <c>name=value</c>, once the app set one.</summary>
    public string? Cookie { get; private set; }

    /// <summary>The session ID (the cookie's value; IDs are not signed in these tests).</summary>
    public string? SessionId => Cookie?[(Cookie.IndexOf('=', StringComparison.Ordinal) + 1)..];

    public async Task<string> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (Cookie is not null)
        {
            request.Headers.Add("Cookie", Cookie);
        }

        using var response = await Http.SendAsync(request);
        Assert.That((int)response.StatusCode, Is.LessThan(500), $"GET {path}");
        if (response.Headers.TryGetValues("Set-Cookie", out var cookies))
        {
            var first = cookies.First();
            var pair = first[..first.IndexOf(';', StringComparison.Ordinal)];
            Cookie = pair.EndsWith('=') ? null : pair;
        }

        return await response.Content.ReadAsStringAsync();
    }
}
