using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Sessions.Core.Tests.Support;
using Sessions.Engine;
using Sessions.Memory;

namespace Sessions.Core.Tests.Events;

/// <summary>ISessionEvents over HTTP: each kind once per cause, in order, with the handles; a throwing handler changes nothing.</summary>
public sealed class SessionEventsTests
{
    [Test]
    public async Task Created_regenerated_and_destroyed_are_raised_once_each_in_order_with_the_handles()
    {
        await using var app = await EventsApp.StartAsync();
        var client = app.NewClient();

        await client.GetAsync("/hit");
        var anonymous = client.Cookie!;
        await client.GetAsync("/login?user=ana");
        var signedIn = client.Cookie!;
        await client.GetAsync("/hit");
        await client.GetAsync("/read");
        var logout = await client.GetAsync("/logout");

        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(app.Events.Log, Is.EqualTo(new[]
        {
            $"created {app.Handle(anonymous)} -",
            $"regenerated {app.Handle(anonymous)}>{app.Handle(signedIn)} ana",
            $"destroyed {app.Handle(signedIn)} ana User",
        }));
    }

    [Test]
    public async Task Revocation_raises_destroyed_once_with_reason_revoked()
    {
        await using var app = await EventsApp.StartAsync();
        var laptop = app.NewClient();
        var phone = app.NewClient();
        await laptop.GetAsync("/login?user=ana");
        await phone.GetAsync("/login?user=ana");
        app.Events.Clear();

        var handle = app.Handle(laptop.Cookie!);
        Assert.That(await app.Manager.RevokeUserSessionAsync("ana", handle), Is.True);
        Assert.That(await app.Manager.RevokeUserSessionAsync("ana", handle), Is.False, "the second revocation finds nothing");
        Assert.That(await app.Manager.RevokeUserSessionsAsync("ana"), Is.EqualTo(1));
        Assert.That(await app.Manager.RevokeUserSessionsAsync("ana"), Is.Zero);

        Assert.That(app.Events.Log, Is.EqualTo(new[]
        {
            $"destroyed {handle} ana Revoked",
            $"destroyed {app.Handle(phone.Cookie!)} ana Revoked",
        }));
    }

    [Test]
    public async Task The_cap_raises_destroyed_with_reason_cap_after_the_new_sessions_event()
    {
        await using var app = await EventsApp.StartAsync(o => o.MaxSessionsPerUser = 1);
        var first = app.NewClient();
        var second = app.NewClient();
        await first.GetAsync("/login?user=ana");
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        await second.GetAsync("/login?user=ana");

        Assert.That(app.Events.Log, Is.EqualTo(new[]
        {
            $"created {app.Handle(first.Cookie!)} ana",
            $"created {app.Handle(second.Cookie!)} ana",
            $"destroyed {app.Handle(first.Cookie!)} ana Cap",
        }));
    }

    [Test]
    public async Task A_refused_binding_raises_nothing()
    {
        await using var app = await EventsApp.StartAsync(o =>
        {
            o.MaxSessionsPerUser = 1;
            o.SessionLimitMode = SessionLimitMode.Refuse;
        });
        await app.NewClient().GetAsync("/login?user=ana");
        app.Events.Clear();

        var refused = await app.NewClient().GetAsync("/login?user=ana");

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(app.Events.Log, Is.Empty);
    }

    [Test]
    public async Task A_session_a_request_finds_expired_is_reported_once_by_the_request_that_removes_it()
    {
        // The store keeps its own (system) clock, as Redis or a database does; the app's clock runs ahead of it.
        await using var app = await EventsApp.StartAsync(storeOnSystemClock: true);
        var client = app.NewClient();
        await client.GetAsync("/login?user=ana");
        var handle = app.Handle(client.Cookie!);
        app.Events.Clear();
        app.Clock.Advance(TimeSpan.FromMinutes(21));

        var expired = await client.SendAsync("/read", keepCookie: true);
        var again = await client.SendAsync("/read", keepCookie: true);

        Assert.That(await expired.Content.ReadAsStringAsync(), Is.EqualTo("0"), "the expired session is not used");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(app.Events.Log, Is.EqualTo(new[] { $"expired {handle} ana FoundByRequest 1" }));
    }

    [Test]
    public async Task A_purge_reports_how_many_expired_sessions_it_removed()
    {
        await using var app = await EventsApp.StartAsync();
        await app.NewClient().GetAsync("/hit");
        await app.NewClient().GetAsync("/hit");
        app.Events.Clear();
        app.Clock.Advance(TimeSpan.FromMinutes(21));

        Assert.That(await app.Manager.PurgeExpiredAsync(), Is.EqualTo(2));
        Assert.That(await app.Manager.PurgeExpiredAsync(), Is.Zero);

        Assert.That(app.Events.Log, Is.EqualTo(new[] { "expired - - Purged 2" }));
    }

    [Test]
    public async Task A_throwing_handler_is_logged_and_changes_neither_the_response_nor_the_other_handlers()
    {
        await using var app = await EventsApp.StartAsync(throwingHandlerFirst: true);
        var client = app.NewClient();

        var response = await client.GetAsync("/hit");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("1"));
        Assert.That(client.Cookie, Is.Not.Null, "the session cookie is still issued");
        Assert.That(await (await client.GetAsync("/read")).Content.ReadAsStringAsync(), Is.EqualTo("1"), "the session was stored");
        Assert.That(app.Events.Log, Is.EqualTo(new[] { $"created {app.Handle(client.Cookie!)} -" }), "the handler after the throwing one still ran");
        Assert.That(app.Logs.Entries.Where(e => e.EventId.Id == 1043).Select(e => e.Level), Is.EqualTo(new[] { LogLevel.Error }), "event 1043 logged once");
    }

    [Test]
    public async Task Handlers_run_in_registration_order()
    {
        var order = new List<string>();
        await using var app = await EventsApp.StartAsync(extra: s => s
            .AddSessionEvents(new NamedHandler("a", order))
            .AddSessionEvents(new NamedHandler("b", order)));

        await app.NewClient().GetAsync("/hit");

        Assert.That(order, Is.EqualTo(new[] { "a", "b" }));
    }

    private sealed class NamedHandler(string name, List<string> order) : ISessionEvents
    {
        public ValueTask OnCreatedAsync(SessionCreatedEvent e)
        {
            lock (order)
            {
                order.Add(name);
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class ThrowingHandler : ISessionEvents
    {
        public async ValueTask OnCreatedAsync(SessionCreatedEvent e)
        {
            await Task.Yield();
            throw new InvalidOperationException("handler bug");
        }
    }

    /// <summary>Writes each event as one line, in the order received.</summary>
    private sealed class RecordingHandler : ISessionEvents
    {
        private readonly List<string> _log = [];

        public IReadOnlyList<string> Log
        {
            get
            {
                lock (_log)
                {
                    return [.. _log];
                }
            }
        }

        public void Clear()
        {
            lock (_log)
            {
                _log.Clear();
            }
        }

        public ValueTask OnCreatedAsync(SessionCreatedEvent e) => Add($"created {e.Handle} {e.UserId ?? "-"}");

        public ValueTask OnRegeneratedAsync(SessionRegeneratedEvent e) => Add($"regenerated {e.OldHandle}>{e.NewHandle} {e.UserId ?? "-"}");

        public ValueTask OnDestroyedAsync(SessionDestroyedEvent e) => Add($"destroyed {e.Handle} {e.UserId ?? "-"} {e.Reason}");

        public ValueTask OnExpiredAsync(SessionExpiredEvent e) => Add($"expired {e.Handle ?? "-"} {e.UserId ?? "-"} {e.Detection} {e.Count}");

        private ValueTask Add(string line)
        {
            lock (_log)
            {
                _log.Add(line);
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class Client(HttpClient http)
    {
        public string? Cookie { get; private set; }

        public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(path, keepCookie: false);

        public async Task<HttpResponseMessage> SendAsync(string path, bool keepCookie)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
            if (Cookie is { } cookie)
            {
                request.Headers.Add("Cookie", $"session={cookie}");
            }

            var response = await http.SendAsync(request);
            if (!keepCookie && response.Headers.TryGetValues("Set-Cookie", out var values)
                && values.Select(v => v.Split(';')[0]).FirstOrDefault(v => v.StartsWith("session=", StringComparison.Ordinal)) is { } set)
            {
                var value = set["session=".Length..];
                Cookie = value.Length == 0 ? null : value;
            }

            return response;
        }
    }

    private sealed class EventsApp : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private EventsApp(WebApplication app, FakeTimeProvider clock, RecordingHandler events, ListLogger<SessionStore> logs)
        {
            _app = app;
            Clock = clock;
            Events = events;
            Logs = logs;
            Manager = app.Services.GetRequiredService<ISessionManager>();
        }

        public FakeTimeProvider Clock { get; }

        public RecordingHandler Events { get; }

        public ListLogger<SessionStore> Logs { get; }

        public ISessionManager Manager { get; }

        public static async Task<EventsApp> StartAsync(
            Action<SessionOptions>? configure = null,
            bool storeOnSystemClock = false,
            bool throwingHandlerFirst = false,
            Action<ISessionsBuilder>? extra = null)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseTestServer();
            var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var logs = new ListLogger<SessionStore>();
            var events = new RecordingHandler();
            builder.Services.AddSingleton<TimeProvider>(clock);
            builder.Services.AddSingleton<ILogger<SessionStore>>(logs);
            var sessions = builder.Services.AddSessions(o =>
            {
                o.IdleTimeout = TimeSpan.FromMinutes(20);
                o.PurgeInterval = null;
                configure?.Invoke(o);
            });
            if (storeOnSystemClock)
            {
                sessions.UseBackend("memory", _ => new MemorySessionBackend(null, TimeProvider.System));
            }
            else
            {
                sessions.AddMemoryBackend();
            }

            if (throwingHandlerFirst)
            {
                sessions.AddSessionEvents<ThrowingHandler>();
            }

            sessions.AddSessionEvents(events);
            extra?.Invoke(sessions);

            var app = builder.Build();
            app.UseSessions();
            app.MapGet("/hit", (HttpContext ctx) =>
            {
                var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
                ctx.Session.SetInt32("n", n);
                return n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            });
            app.MapGet("/read", (HttpContext ctx) => (ctx.Session.GetInt32("n") ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture));
            app.MapGet("/login", (HttpContext ctx, string user) =>
            {
                var session = ctx.GetServerSession();
                session.UserId = user;
                session.Regenerate();
                return "ok";
            });
            app.MapGet("/logout", (HttpContext ctx) =>
            {
                ctx.GetServerSession().Destroy();
                return "ok";
            });
            await app.StartAsync();
            return new EventsApp(app, clock, events, logs);
        }

        public Client NewClient() => new(_app.GetTestClient());

        public string Handle(string sessionId) => Manager.GetHandle(sessionId);

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
