using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

/// <summary>
/// What the kit's backend fixtures share: a factory the backend author supplies, the store's expiry resolution, and
/// the bookkeeping that disposes every backend a test created once that test ends.
/// </summary>
/// <remarks>Subclass one of the fixtures (<see cref="SessionBackendConformanceTests"/> and the capability specs), not this class.</remarks>
public abstract class BackendConformanceFixture
{
    // A test's backends and its deadline, keyed by NUnit test ID so that parallel tests in one fixture instance do not mix.
    private readonly ConcurrentDictionary<string, TestScope> _scopes = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates a backend instance. The kit calls this for every test, sometimes several times in one test, and disposes
    /// each instance (<see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>) when the test ends.
    /// </summary>
    /// <remarks>
    /// Instances created during one fixture must see the same store, as two app servers would. Return a new instance per
    /// call when the backend is disposable; otherwise returning one shared instance is fine. Start servers and create
    /// clients in a one-time set-up, not here.
    /// </remarks>
    /// <returns>A ready backend.</returns>
    protected abstract ValueTask<ISessionBackend> CreateBackendAsync();

    /// <summary>
    /// Creates a backend that takes the application's clock: it must judge expiry (on reads, conditional writes, touches,
    /// enumeration and purges) by <paramref name="timeProvider"/>, never by the system clock, as it does with the
    /// <see cref="TimeProvider"/> an app registers. The kit passes a <c>FakeTimeProvider</c> at a time far from the real
    /// one and moves it, so that a backend reading <see cref="DateTimeOffset.UtcNow"/> fails.
    /// </summary>
    /// <param name="timeProvider">The clock; one per test, shared by every backend that test creates.</param>
    /// <returns>A ready backend on the same store as <see cref="CreateBackendAsync()"/>.</returns>
    /// <remarks>
    /// Default: <c>Assert.Ignore</c>, so the clock tests show as not run until the fixture overrides it; a backend that
    /// takes no clock keeps working unchanged. The store may still expire records by its own clock (memcached, Redis):
    /// the kit only moves the fake clock forward from far in the past or future of the real one by hours, with records
    /// that live for hours by that clock, so native expiry never decides these tests.
    /// </remarks>
    protected virtual ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider)
    {
        Assert.Ignore($"{GetType().Name} does not override CreateBackendAsync(TimeProvider), so the kit cannot check that the backend judges expiry by the app's clock.");
        return default;
    }

    /// <summary>
    /// The smallest expiry granularity of the store (for example one second for Memcached or DynamoDB). Tests scale
    /// their time-to-live values and tolerances from it. Default: 100 ms.
    /// </summary>
    protected virtual TimeSpan ExpiryResolution => TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Test-only hook: stores, under <paramref name="key"/>, something the backend cannot read back as a record (garbage
    /// bytes of the store's native type, an empty value, a truncated file), bypassing the backend, as an operator or
    /// another app might. The kit then checks that <see cref="ISessionBackend.GetAsync"/> reports it as corrupt
    /// (<see cref="SessionRecordCorruptException"/> or a record the core will judge corrupt), never as an outage.
    /// </summary>
    /// <param name="key">The storage key, as the backend would store it (apply the backend's own key prefix).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the bytes are stored.</returns>
    /// <remarks>Default: <c>Assert.Ignore</c>, so the tests that need it show as not run until the backend's fixture overrides it.</remarks>
    protected virtual ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken)
    {
        Assert.Ignore($"{GetType().Name} does not override WriteUnreadableRecordAsync, so the kit cannot plant an unreadable record.");
        return ValueTask.CompletedTask;
    }

    /// <summary>Disposes every backend the test created. The kit runs this after each test; there is nothing to call.</summary>
    /// <returns>A task that completes when the backends are disposed.</returns>
    [TearDown]
    public async Task DisposeBackendsCreatedByTheTestAsync()
    {
        if (!_scopes.TryRemove(TestContext.CurrentContext.Test.ID, out var scope))
        {
            return;
        }

        using (scope.Deadline)
        {
            // Newest first (a stack), once per distinct instance: a factory may hand out one shared, non-disposable instance.
            foreach (var backend in scope.Backends.Distinct<ISessionBackend>(ReferenceEqualityComparer.Instance))
            {
                await DisposeBackendAsync(backend);
            }
        }
    }

    /// <summary>The store's expiry resolution, checked once so that a bad override fails with a clear message.</summary>
    private protected TimeSpan Resolution
    {
        get
        {
            var resolution = ExpiryResolution;
            if (resolution <= TimeSpan.Zero)
            {
                Assert.Fail($"{GetType().Name}.ExpiryResolution must be positive; it is {resolution}.");
            }

            return resolution;
        }
    }

    /// <summary>A time-to-live short enough to wait out in a test, long enough for the store to honour: max(1 s, 2 × resolution).</summary>
    private protected TimeSpan ShortTtl => Max(TimeSpan.FromSeconds(1), 2 * Resolution);

    /// <summary>A time-to-live no test outlives.</summary>
    private protected static TimeSpan LongTtl => TimeSpan.FromHours(1);

    /// <summary>Cancelled when the test has run for far longer than any test should, so a hung backend fails instead of hanging the run.</summary>
    private protected CancellationToken Token => CurrentScope.Deadline.Token;

    private protected static DateTimeOffset Now => DateTimeOffset.UtcNow;

    private TestScope CurrentScope => _scopes.GetOrAdd(
        TestContext.CurrentContext.Test.ID,
        static (_, self) => new TestScope(self.TestDeadline),
        this);

    private TimeSpan TestDeadline => TimeSpan.FromSeconds(60) + (20 * Resolution);

    /// <summary>Creates a backend through <see cref="CreateBackendAsync()"/> and registers it for disposal when the test ends.</summary>
    private protected async Task<ISessionBackend> NewBackendAsync()
    {
        var backend = await CreateBackendAsync();
        Assert.That(backend, Is.Not.Null, $"{GetType().Name}.CreateBackendAsync returned null.");
        CurrentScope.Backends.Push(backend);
        return backend;
    }

    /// <summary>Creates a backend on <paramref name="timeProvider"/> through <see cref="CreateBackendAsync(TimeProvider)"/> and registers it for disposal when the test ends.</summary>
    private protected async Task<ISessionBackend> NewBackendAsync(TimeProvider timeProvider)
    {
        var backend = await CreateBackendAsync(timeProvider);
        Assert.That(backend, Is.Not.Null, $"{GetType().Name}.CreateBackendAsync(TimeProvider) returned null.");
        CurrentScope.Backends.Push(backend);
        return backend;
    }

    /// <summary>Creates <paramref name="count"/> backends through <see cref="CreateBackendAsync()"/>: separate instances over one store, as separate app servers.</summary>
    private protected async Task<ISessionBackend[]> NewBackendsAsync(int count)
    {
        var backends = new ISessionBackend[count];
        for (var i = 0; i < count; i++)
        {
            backends[i] = await NewBackendAsync();
        }

        return backends;
    }

    /// <summary>A fake clock at a whole second <paramref name="offsetFromRealTime"/> away from the real time.</summary>
    private protected static FakeTimeProvider FakeClock(TimeSpan offsetFromRealTime)
    {
        var now = FakeTimeProviders.StartingNow().GetUtcNow();
        return new FakeTimeProvider(now + offsetFromRealTime);
    }

    /// <summary>A fresh key no other test uses: <c>kit:{guid}:{label}</c>.</summary>
    private protected static string NewKey(string label = "s") => $"{NewKeyPrefix()}{label}";

    /// <summary>A fresh key prefix no other test uses: <c>kit:{guid}:</c>.</summary>
    private protected static string NewKeyPrefix() => $"kit:{Guid.NewGuid():N}:";

    /// <summary>A record with a recognisable payload that expires after <paramref name="ttl"/>.</summary>
    private protected static SessionRecord NewRecord(TimeSpan ttl, long version = 1, string? label = null) =>
        new(Payloads.Text(label ?? $"payload {Guid.NewGuid():N}"), Now + ttl, version);

    /// <summary>Disposes <paramref name="backend"/> however it supports; <see langword="false"/> when it is not disposable.</summary>
    private protected static async ValueTask<bool> DisposeBackendAsync(ISessionBackend backend)
    {
        switch (backend)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                return true;
            case IDisposable disposable:
                disposable.Dispose();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Fails unless <paramref name="actual"/> holds the payload and version of <paramref name="expected"/> and its expiry within the resolution.</summary>
    private protected void AssertRecord(SessionRecord? actual, SessionRecord expected, string what)
    {
        if (actual is null)
        {
            Assert.Fail($"{what}: expected a record, but the backend returned null.");
            return;
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Payloads.Difference(actual.Payload, expected.Payload), Is.Null, $"{what}: payload");
            Assert.That(actual.Version, Is.EqualTo(expected.Version), $"{what}: version");
            Assert.That(actual.ExpiresAt, Is.EqualTo(expected.ExpiresAt).Within(Resolution), $"{what}: expiry");
        }
    }

    /// <summary>Waits until <paramref name="instant"/> (no-op when it has passed).</summary>
    private protected async Task DelayUntilAsync(DateTimeOffset instant)
    {
        var wait = instant - Now;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, Token);
        }
    }

    /// <summary>
    /// Polls <paramref name="key"/> until the backend stops returning it, and fails if it still returns the record in a
    /// read that started more than the resolution after <paramref name="expiresAt"/>. Bounded by that instant, not by a fixed sleep.
    /// </summary>
    private protected async Task WaitUntilExpiredAsync(ISessionBackend backend, string key, DateTimeOffset expiresAt)
    {
        // A little slack on top of the resolution for the trip to the store; in-process stores need none, remote ones a few ms.
        var latest = expiresAt + Resolution + TimeSpan.FromMilliseconds(50);
        var poll = Clamp(Resolution / 4, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(100));
        await DelayUntilAsync(expiresAt - poll);
        while (true)
        {
            var started = Now;
            if (await backend.GetAsync(key, Token) is null)
            {
                return;
            }

            if (started > latest)
            {
                Assert.Fail(
                    $"GetAsync(\"{key}\") still returned the record {(started - expiresAt).TotalMilliseconds:F0} ms after its ExpiresAt " +
                    $"({expiresAt:O}); a backend must never return an expired record (allowed lateness: the {Resolution.TotalMilliseconds:F0} ms resolution).");
            }

            await Task.Delay(poll, Token);
        }
    }

    /// <summary>
    /// Fails if <paramref name="key"/> is already gone shortly before <paramref name="expiresAt"/>: reads at
    /// <paramref name="expiresAt"/> minus the resolution minus a margin, and judges by when the read completed.
    /// </summary>
    private protected async Task AssertStillLiveShortlyBeforeAsync(ISessionBackend backend, string key, DateTimeOffset expiresAt)
    {
        var earliestAllowedExpiry = expiresAt - Resolution;
        await DelayUntilAsync(earliestAllowedExpiry - TimeSpan.FromMilliseconds(300));
        var record = await backend.GetAsync(key, Token);
        var completed = Now;
        if (record is null && completed < earliestAllowedExpiry)
        {
            Assert.Fail(
                $"GetAsync(\"{key}\") returned null {(expiresAt - completed).TotalMilliseconds:F0} ms before the record's ExpiresAt; " +
                $"it may expire at most the {Resolution.TotalMilliseconds:F0} ms resolution early.");
        }

        if (record is null)
        {
            Assert.Inconclusive($"The read of \"{key}\" completed too close to its expiry to judge (the machine is too busy); rerun.");
        }
    }

    /// <summary>Writes <paramref name="record"/> (which must expire soon) and waits until the backend no longer returns it.</summary>
    private protected async Task WriteAndLetExpireAsync(ISessionBackend backend, string key, SessionRecord record)
    {
        Assert.That(await backend.SetAsync(key, record, SetCondition.Always, Token), Is.True, $"SetAsync(\"{key}\", Always) returned false.");
        await WaitUntilExpiredAsync(backend, key, record.ExpiresAt);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;

    private sealed class TestScope(TimeSpan deadline)
    {
        public ConcurrentStack<ISessionBackend> Backends { get; } = new();

        public CancellationTokenSource Deadline { get; } = new(deadline);
    }
}
