using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace Sessions.Conformance;

/// <summary>
/// The behaviour table of the design, driven over HTTP: a real ASP.NET Core app with <c>UseSessions()</c> runs on
/// TestServer with the subclass's backend plugged in, and each test plays one row (cookies, strict IDs, regenerate and
/// destroy, timeouts and touch, concurrent requests, transports, the user index, outages). Subclass it in a backend's
/// test project and implement <see cref="AddBackend"/>.
/// </summary>
/// <remarks>
/// <para>Every test builds its own app (and so its own backend instance through <see cref="AddBackend"/>) and disposes it
/// when the test ends; sessions get fresh random IDs, so instances may share one store.</para>
/// <para>The kit wraps the registered backend to count calls and to simulate outages, so it needs nothing from the
/// backend beyond its registration. Every test is virtual: a backend that cannot support one overrides it and calls
/// <see cref="Assert.Ignore(string)"/> with the reason.</para>
/// </remarks>
[ConformanceFixture]
public abstract partial class SessionBehaviourConformanceTests
{
    // The apps a test started, keyed by NUnit test ID so that parallel tests in one fixture instance do not mix.
    private readonly ConcurrentDictionary<string, ConcurrentStack<BehaviourApp>> _apps = new(StringComparer.Ordinal);

    /// <summary>
    /// Registers the backend under test on the app's sessions builder, as an application would, for example
    /// <c>builder.AddMemoryBackend()</c> or <c>builder.AddRedisBackend(o => o.Configuration = Server.Address)</c>.
    /// </summary>
    /// <remarks>
    /// Called once per test, for a new app. The registration must go through <see cref="ISessionsBuilder.UseBackend"/>
    /// (every <c>Add&lt;Backend&gt;Backend</c> extension does); the kit wraps the backend it creates. Start servers in a
    /// one-time set-up, not here.
    /// </remarks>
    /// <param name="builder">The sessions builder returned by <c>AddSessions(...)</c>.</param>
    protected abstract void AddBackend(ISessionsBuilder builder);

    /// <summary>
    /// Whether the backend takes its clock from the <see cref="TimeProvider"/> registered in the app's services. When
    /// <see langword="true"/> (the default), the kit registers a manual clock and moves it for the timeout rows, which then
    /// take no time; when <see langword="false"/> (a store that expires records by its own clock, such as Redis), the kit
    /// uses a short idle timeout (see <see cref="ExpiryResolution"/>) and waits in real time.
    /// </summary>
    protected virtual bool SupportsControllableTime => true;

    /// <summary>
    /// The smallest expiry granularity of the store (for example one second for Memcached). With real time the idle
    /// timeout is max(2 s, 4 × this) and waits allow this much lateness. Default: 100 ms.
    /// </summary>
    protected virtual TimeSpan ExpiryResolution => TimeSpan.FromMilliseconds(100);

    /// <summary>Stops and disposes every app the test started. The kit runs this after each test; there is nothing to call.</summary>
    /// <returns>A task that completes when the apps are disposed.</returns>
    [TearDown]
    public async Task DisposeAppsStartedByTheTestAsync()
    {
        if (!_apps.TryRemove(TestContext.CurrentContext.Test.ID, out var apps))
        {
            return;
        }

        foreach (var app in apps)
        {
            await app.DisposeAsync();
        }
    }

    /// <summary>The idle timeout the tests configure: the default 20 minutes on a manual clock, a few seconds in real time.</summary>
    private protected TimeSpan IdleTimeout
    {
        get
        {
            if (SupportsControllableTime)
            {
                return TimeSpan.FromMinutes(20);
            }

            var resolution = ExpiryResolution;
            if (resolution <= TimeSpan.Zero)
            {
                Assert.Fail($"{GetType().Name}.ExpiryResolution must be positive; it is {resolution}.");
            }

            return resolution * 4 > TimeSpan.FromSeconds(2) ? resolution * 4 : TimeSpan.FromSeconds(2);
        }
    }

    /// <summary>
    /// The touch threshold the tests configure: a quarter of the idle timeout on a manual clock; half of it (the most
    /// allowed) in real time, so that "well within TouchAfter" survives a busy machine's scheduling delays.
    /// </summary>
    private protected TimeSpan TouchAfter => SupportsControllableTime ? IdleTimeout / 4 : IdleTimeout / 2;

    /// <summary>A wait that is clearly past <see cref="TouchAfter"/> yet well within the idle timeout, so a touch is due.</summary>
    private protected TimeSpan PastTouchAfter => TouchAfter + ((IdleTimeout - TouchAfter) / 4);

    /// <summary>How far past an expiry a test waits before it expects the session gone, and the tolerance on cookie dates.</summary>
    private protected TimeSpan Slack => SupportsControllableTime ? TimeSpan.FromSeconds(1) : ExpiryResolution + TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The <see cref="SessionOptions.OperationTimeout"/> of the kit's apps (15 s), unless a test sets its own: the
    /// production default (1 s) is for a store that answers in milliseconds, and on a busy CI machine (2 cores shared with
    /// the servers under test) a healthy store's call can take longer, which would turn into 503s that say nothing about
    /// the backend. The tests of the timeout itself set a short one.
    /// </summary>
    private protected static readonly TimeSpan KitOperationTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Starts an app with the backend under test. The kit's defaults (idle timeout <see cref="IdleTimeout"/>, touch after
    /// <see cref="TouchAfter"/>, operation timeout <see cref="KitOperationTimeout"/>) are applied first, then
    /// <paramref name="configure"/>.
    /// </summary>
    private protected async Task<BehaviourApp> StartAppAsync(
        Action<SessionOptions>? configure = null,
        Action<ISessionsBuilder>? sessions = null,
        bool https = false,
        bool mvc = false,
        bool connections = false)
    {
        var idle = IdleTimeout;
        var touchAfter = TouchAfter;
        var app = await BehaviourApp.StartAsync(
            AddBackend,
            GetType().Name,
            SupportsControllableTime,
            o =>
            {
                o.IdleTimeout = idle;
                o.TouchAfter = touchAfter;
                o.OperationTimeout = KitOperationTimeout;
                configure?.Invoke(o);
            },
            sessions,
            https,
            mvc,
            connections);
        _apps.GetOrAdd(TestContext.CurrentContext.Test.ID, static _ => new ConcurrentStack<BehaviourApp>()).Push(app);
        return app;
    }

    /// <summary>A browser that holds a session with <c>n = 1</c>.</summary>
    private protected static async Task<Browser> BrowserWithSessionAsync(BehaviourApp app, string? userAgent = null)
    {
        var browser = app.NewBrowser(userAgent);
        var reply = await browser.GetAsync("/hit");
        Assert.That(reply.IssuedCookie, Is.Not.Null, $"setting up a session: the first /hit must issue a session cookie. {reply.Describe()}");
        return browser;
    }

    /// <summary>A well-formed session ID (32 random bytes, base64url) that no app ever issued.</summary>
    private protected static string NewUnknownId() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>A signing key for <see cref="SessionOptions.SigningKeys"/>.</summary>
    private protected static string NewSigningKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Fails unless the reply gives the client no session ID (neither a cookie nor, with header IDs, a header).</summary>
    private protected static void AssertNoIdIssued(Reply reply, string why) =>
        Assert.That(reply.IssuedCookie, Is.Null, $"{why}: the response must not issue a session cookie. {reply.Describe()}");

    /// <summary>Fails unless the reply has status 200 and the body <paramref name="expected"/>.</summary>
    private protected static void AssertOk(Reply reply, string expected, string what)
    {
        Assert.That((int)reply.Status, Is.EqualTo(200), $"{what}: status. {reply.Describe()}");
        Assert.That(reply.Body, Is.EqualTo(expected), $"{what}: body. {reply.Describe()}");
    }
}
