using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Sessions.Core.Tests.Support;
using Sessions.Memory;

namespace Sessions.Core.Tests.AspNetCore;

/// <summary>
/// Commits that fail after the endpoint ran (issue 14, faults 6 and 11, and 413 of fault 5), over HTTP through TestServer:
/// the error response holds only the error and says the endpoint ran, one log entry per failed request, stack traces only at Debug.
/// </summary>
public sealed class MiddlewareFailureTests
{
    private const string MiddlewareCategory = "Sessions.AspNetCore.SessionMiddleware";

    [Test]
    public async Task A_failed_save_after_the_endpoint_ran_answers_503_with_only_the_error()
    {
        await using var app = await TestApp.StartAsync();
        app.Backend.FailWith = new IOException("simulated outage");

        using var response = await app.Client.GetAsync(new Uri("/hit", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body);
            Assert.That(body, Does.StartWith("503 Service Unavailable"), "the body holds only the error, not the endpoint's output first");
            Assert.That(body, Does.Contain("was processed").And.Contain("not saved"), "a client must learn that the endpoint ran");
            Assert.That(body, Does.Not.Contain("nothing was changed"));
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
        }

        AssertOneMiddlewareEntry(app, 1022);
    }

    [Test]
    public async Task A_conflict_in_fail_mode_answers_409_with_only_the_error_and_is_logged_as_a_conflict()
    {
        await using var app = await TestApp.StartAsync(o => o.ConcurrencyMode = ConcurrencyMode.Fail);
        var cookie = await app.NewSessionAsync();
        app.Backend.AlwaysConflict = true;

        using var response = await app.SendAsync("/json", cookie);
        var body = await response.Content.ReadAsStringAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), body);
            Assert.That(body, Does.StartWith("409 Conflict"), "the body holds only the error, not the endpoint's JSON first");
            Assert.That(body, Does.Not.Contain("{"));
            Assert.That(body, Does.Contain("was processed").And.Contain("not saved"));
        }

        AssertOneMiddlewareEntry(app, 1014);
    }

    [Test]
    public async Task A_session_over_the_size_limit_answers_413_and_is_logged_once()
    {
        await using var app = await TestApp.StartAsync(o => o.MaxPayloadBytes = 1024);
        var cookie = await app.NewSessionAsync();

        using var response = await app.SendAsync("/big?bytes=100000", cookie);
        var body = await response.Content.ReadAsStringAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(413), body);
            Assert.That(body, Does.StartWith("413").And.Contain("1024 bytes").And.Contain("not saved"));
            Assert.That(body, Does.Not.StartWith("ok"));
        }

        AssertOneMiddlewareEntry(app, 1023);
        Assert.That(app.Logs.Entries.Where(e => e.Level >= LogLevel.Error), Is.Empty, "a session over the limit is not a server error");
        using var read = await app.SendAsync("/read", cookie);
        Assert.That(await read.Content.ReadAsStringAsync(), Is.EqualTo("1"), "the stored session is intact");
    }

    [Test]
    public async Task Stack_traces_of_failed_requests_are_logged_only_at_debug()
    {
        await using var quiet = await TestApp.StartAsync(minimumLevel: LogLevel.Information);
        await using var verbose = await TestApp.StartAsync(minimumLevel: LogLevel.Debug);
        quiet.Backend.FailWith = new IOException("simulated outage");
        verbose.Backend.FailWith = new IOException("simulated outage");

        using var _ = await quiet.Client.GetAsync(new Uri("/hit", UriKind.Relative));
        using var __ = await verbose.Client.GetAsync(new Uri("/hit", UriKind.Relative));

        var quietEntry = quiet.Logs.Entries.Single(e => e.Category == MiddlewareCategory);
        var verboseEntry = verbose.Logs.Entries.Single(e => e.Category == MiddlewareCategory);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(quietEntry.Exception, Is.Null, "no stack trace above Debug");
            Assert.That(verboseEntry.Exception, Is.Not.Null, "the stack trace is there at Debug");
        }
    }

    [Test]
    public async Task A_load_failure_is_logged_once_when_the_endpoint_uses_the_session()
    {
        await using var app = await TestApp.StartAsync();
        var cookie = await app.NewSessionAsync();
        app.Backend.FailWith = new IOException("simulated outage");

        using var plain = await app.SendAsync("/plain", cookie);
        using var read = await app.SendAsync("/read", cookie);
        var body = await read.Content.ReadAsStringAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(plain.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a route that never uses the session is served");
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body);
            Assert.That(body, Does.StartWith("503").And.Contain("session was not changed"));
        }

        AssertOneMiddlewareEntry(app, 1013);
    }

    [Test]
    public async Task A_save_that_timed_out_says_its_changes_are_unconfirmed_not_lost()
    {
        // A frozen store that applies the write after the engine stopped waiting (the real clock: OperationTimeout).
        await using var app = await TestApp.StartAsync(o => o.OperationTimeout = TimeSpan.FromMilliseconds(200));
        var cookie = await app.NewSessionAsync();
        app.Backend.SetDelay = TimeSpan.FromSeconds(1);

        using var hit = await app.SendAsync("/hit", cookie);
        var body = await hit.Content.ReadAsStringAsync();
        app.Backend.SetDelay = TimeSpan.Zero;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(hit.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body);
            Assert.That(body, Does.StartWith("503").And.Contain("may or may not have been saved").And.Not.Contain("were not saved"));
        }

        // The abandoned write landed after all: the next read sees it (which is why the reply could not say "not saved").
        await Task.Delay(TimeSpan.FromSeconds(2));
        using var read = await app.SendAsync("/read", cookie);
        Assert.That(await read.Content.ReadAsStringAsync(), Is.EqualTo("2"));
    }

    [Test]
    public async Task A_sign_in_whose_move_timed_out_and_landed_later_gets_the_old_session_back()
    {
        // The regenerate's tombstone write times out (200 ms) but the frozen store applies it after 1 s: without a
        // restore, the old ID would stay moved to a new ID that was never stored, and the session's data would be lost.
        await using var app = await TestApp.StartAsync(o => o.OperationTimeout = TimeSpan.FromMilliseconds(200));
        var cookie = await app.NewSessionAsync();
        using (await app.SendAsync("/hit", cookie))
        {
        }

        app.Backend.SetDelay = TimeSpan.FromSeconds(1);
        using var login = await app.SendAsync("/login", cookie);
        app.Backend.SetDelay = TimeSpan.Zero;
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), await login.Content.ReadAsStringAsync());

        var watch = System.Diagnostics.Stopwatch.StartNew();
        string? body = null;
        while (watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(250);
            using var read = await app.SendAsync("/read", cookie);
            body = await read.Content.ReadAsStringAsync();
            if (read.StatusCode == HttpStatusCode.OK && body == "2" && watch.Elapsed > TimeSpan.FromSeconds(3))
            {
                break;
            }
        }

        Assert.That(body, Is.EqualTo("2"), "the old cookie reads the session as it was before the failed sign-in");
    }

    private static void AssertOneMiddlewareEntry(TestApp app, int eventId)
    {
        var entries = app.Logs.Entries.Where(e => e.Category == MiddlewareCategory || e.Category.StartsWith("Sessions.AspNetCore", StringComparison.Ordinal)).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entries.Select(e => e.EventId), Is.EqualTo(new[] { eventId }), $"one middleware entry per failed request: {string.Join(" | ", entries)}");
            Assert.That(app.Logs.Entries.Where(e => e.EventId == 1015), Is.Empty, "event 1015 (saved after the response started) would be false");
            Assert.That(entries.Where(e => e.Exception is not null), Is.Empty, "no stack trace above Debug");
        }
    }

    /// <summary>A TestServer app over a failable in-memory backend, collecting its log.</summary>
    private sealed class TestApp : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private TestApp(WebApplication app, CountingBackend backend, CollectingLoggerProvider logs)
        {
            _app = app;
            Backend = backend;
            Logs = logs;
            Client = app.GetTestClient();
        }

        public CountingBackend Backend { get; }

        public CollectingLoggerProvider Logs { get; }

        public HttpClient Client { get; }

        public static async Task<TestApp> StartAsync(Action<SessionOptions>? configure = null, LogLevel minimumLevel = LogLevel.Information)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseTestServer();
            var logs = new CollectingLoggerProvider();
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(minimumLevel);
            var backend = new CountingBackend(new MemorySessionBackend());
            builder.Services.AddSessions(o => configure?.Invoke(o)).UseBackend("memory", _ => backend);
            var app = builder.Build();
            app.UseSessions();
            app.MapGet("/hit", (HttpContext ctx) =>
            {
                var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
                ctx.Session.SetInt32("n", n);
                return n;
            });
            app.MapGet("/read", (HttpContext ctx) => ctx.Session.GetInt32("n") ?? 0);
            app.MapGet("/plain", () => "ok");
            app.MapGet("/login", (HttpContext ctx) =>
            {
                var session = ctx.GetServerSession();
                session.UserId = "ada";
                session.Regenerate();
                return "ok";
            });
            app.MapGet("/json", (HttpContext ctx) =>
            {
                ctx.Session.SetString("k", "v");
                return Results.Json(new { Saved = true, Items = new[] { 1, 2, 3 } });
            });
            app.MapGet("/big", (HttpContext ctx, int bytes) =>
            {
                ctx.Session.Set("big", new byte[bytes]);
                return "ok";
            });
            await app.StartAsync();
            return new TestApp(app, backend, logs);
        }

        /// <summary>Creates a session (n = 1) and returns its cookie header value.</summary>
        public async Task<string> NewSessionAsync()
        {
            using var response = await Client.GetAsync(new Uri("/hit", UriKind.Relative));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "setting up a session");
            var cookie = response.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
            Logs.Clear();
            return cookie;
        }

        public async Task<HttpResponseMessage> SendAsync(string path, string cookie)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Cookie", cookie);
            return await Client.SendAsync(request);
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _app.DisposeAsync();
        }
    }

    /// <summary>Collects every log entry, with its exception, from the categories it is asked for.</summary>
    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<Entry> _entries = new();

        public IReadOnlyList<Entry> Entries => [.. _entries];

        public void Clear() => _entries.Clear();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        public sealed record Entry(string Category, LogLevel Level, int EventId, string Message, Exception? Exception)
        {
            public override string ToString() => $"{Level} {Category}[{EventId}]: {Message}{(Exception is null ? "" : " +exception")}";
        }

        private sealed class Logger(CollectingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner._entries.Enqueue(new Entry(category, logLevel, eventId.Id, formatter(state, exception), exception));
        }
    }
}
