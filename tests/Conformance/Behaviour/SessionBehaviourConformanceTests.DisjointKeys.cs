using System.Diagnostics;
using System.Globalization;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Many concurrent requests of one session, each setting a different key: every key is stored (issue 14, fault 1).
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>
    /// With one app instance, <paramref name="requests"/> concurrent requests of one session that each set a different key
    /// all succeed and every key is stored: commits of one session queue within the process instead of conflicting.
    /// </summary>
    /// <param name="requests">How many requests run at once.</param>
    [TestCase(16)]
    [TestCase(48)]
    [TestCase(64)]
    public virtual async Task Concurrent_requests_setting_different_keys_all_succeed_and_all_keys_are_stored(int requests)
    {
        var app = await StartAppAsync(WithoutExpiry);
        var browser = await BrowserWithSessionAsync(app);
        app.Backend.Latency = StoreLatency;

        var replies = await SetKeysConcurrentlyAsync([browser], requests);

        using (Assert.EnterMultipleScope())
        {
            for (var i = 0; i < requests; i++)
            {
                AssertOk(replies[i], "ok", $"request {i} of {requests} (key k{i})");
            }
        }

        var stored = await StoredKeysAsync(browser);
        Assert.That(stored, Is.SupersetOf(Keys(requests)), $"every key must be stored; missing: {string.Join(",", Keys(requests).Except(stored))}");
    }

    /// <summary>
    /// With two app instances on one store, concurrent requests of one session that each set a different key lose nothing:
    /// each either succeeds with its key stored, or answers 409 because its retries ran out (and then its key is not claimed).
    /// </summary>
    [Test]
    public virtual async Task Concurrent_requests_on_two_app_instances_lose_no_key()
    {
        const int Requests = 64;
        var first = await StartAppAsync(WithoutExpiry);
        var name = first.Store.BackendName;
        var shared = first.Backend.Inner;
        var second = await StartAppAsync(WithoutExpiry, sessions: s => s.UseBackend(name, _ => new ObservedBackend(new SharedBackend(shared))));
        var browser = await BrowserWithSessionAsync(first);
        var other = second.NewBrowser();
        other.Cookie = browser.Cookie;
        first.Backend.Latency = StoreLatency;
        second.Backend.Latency = StoreLatency;

        var replies = await SetKeysConcurrentlyAsync([browser, other], Requests);

        var stored = await StoredKeysAsync(browser);
        var conflicts = 0;
        using (Assert.EnterMultipleScope())
        {
            for (var i = 0; i < Requests; i++)
            {
                var reply = replies[i];
                if ((int)reply.Status == 409)
                {
                    conflicts++;
                    continue;
                }

                AssertOk(reply, "ok", $"request {i} (key k{i}) on instance {(i % 2) + 1}: 200, or 409 when its retries ran out");
                Assert.That(stored, Does.Contain($"k{i}"), $"request {i} answered 200, so its key k{i} must be stored");
            }
        }

        TestContext.Out.WriteLine($"two instances, {Requests} requests: {conflicts} answered 409 (retries ran out), {stored.Count - 1} keys stored");
    }

    /// <summary>
    /// For tests that are not about expiry: a long idle timeout, so that a busy machine's delays cannot expire their session
    /// midway when the kit runs on real time (where its default idle timeout is a few seconds).
    /// </summary>
    private protected static void WithoutExpiry(SessionOptions options)
    {
        options.IdleTimeout = TimeSpan.FromMinutes(20);
        options.TouchAfter = TimeSpan.FromMinutes(5);
    }

    // A network store's round trip, added to every backend call of these tests so that an in-process store's requests
    // overlap as a remote store's do (without it they finish almost one by one and hide the race).
    private static TimeSpan StoreLatency => TimeSpan.FromMilliseconds(1);

    // Sends requests 0..count-1 at once, request i through browsers[i % browsers.Length], each setting k{i}; reports the replies in order.
    private static async Task<Reply[]> SetKeysConcurrentlyAsync(Browser[] browsers, int count)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = new Task<Reply>[count];
        for (var i = 0; i < count; i++)
        {
            var browser = browsers[i % browsers.Length];
            var path = string.Create(CultureInfo.InvariantCulture, $"/set?key=k{i}&value={i}");
            tasks[i] = Task.Run(async () =>
            {
                await start.Task;
                return await browser.GetAsync(path);
            });
        }

        var clock = Stopwatch.StartNew();
        start.SetResult();
        var replies = await Task.WhenAll(tasks);
        TestContext.Out.WriteLine($"{count} concurrent requests took {clock.ElapsedMilliseconds} ms in all");
        return replies;
    }

    private static async Task<HashSet<string>> StoredKeysAsync(Browser browser)
    {
        var keys = await browser.GetAsync("/keys");
        Assert.That((int)keys.Status, Is.EqualTo(200), $"reading the keys back. {keys.Describe()}");
        return [.. keys.Body.Split(',', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static IEnumerable<string> Keys(int count) => Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"k{i}"));

    /// <summary>A second app instance's view of the first one's backend: forwards every call and leaves disposal to the first.</summary>
    private sealed class SharedBackend(ISessionBackend inner) : ISessionBackend
    {
        public ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken) =>
            inner.SetAsync(key, record, condition, cancellationToken);

        public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken) =>
            inner.RemoveAsync(key, expectedVersion, cancellationToken);

        public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
            inner.TouchAsync(key, expiresAt, cancellationToken);
    }
}
