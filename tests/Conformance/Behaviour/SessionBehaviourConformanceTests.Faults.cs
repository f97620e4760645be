using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Sessions.Diagnostics;

namespace Sessions.Conformance;

// Faults of issue 14 that every backend is held to: a store that hangs (operation timeout, circuit breaker, recovery),
// a session grown past the store's record limit (413, stored session intact), and a record the backend cannot read
// (a new session, logged and counted once, never an outage).
public abstract partial class SessionBehaviourConformanceTests
{
    // Generous on top of every timing promise: tests must pass on a busy, shared machine.
    private static readonly TimeSpan TimingMargin = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Test-only hook: stores, under the storage key <paramref name="key"/>, something the backend cannot read back as a
    /// record, bypassing the backend (see <see cref="BackendConformanceFixture"/>'s hook of the same name). Override it in
    /// the backend's behaviour fixture; by default the tests that need it are ignored.
    /// </summary>
    /// <param name="key">The storage key, as the core computes it (the backend applies its own prefix, if any).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the bytes are stored.</returns>
    protected virtual ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken)
    {
        Assert.Ignore($"{GetType().Name} does not override WriteUnreadableRecordAsync, so the kit cannot plant an unreadable record.");
        return ValueTask.CompletedTask;
    }

    // These tests wait in real time for timeouts; the session must outlive them even where the kit's idle timeout is short.
    private static void LongIdleTimeout(SessionOptions options)
    {
        options.IdleTimeout = TimeSpan.FromMinutes(20);
        options.TouchAfter = TimeSpan.FromMinutes(1);
    }

    /// <summary>
    /// A browser holding a session (<c>n = 1</c>), retrying while the first calls to a cold store (connections opened,
    /// statements prepared, code compiled on a busy machine) take longer than the short operation timeout these tests set.
    /// </summary>
    private static async Task<Browser> WarmBrowserWithSessionAsync(BehaviourApp app)
    {
        var browser = app.NewBrowser();
        for (var attempt = 1; ; attempt++)
        {
            var reply = await browser.GetAsync("/hit");
            if (reply.IssuedCookie is not null || attempt == 10)
            {
                Assert.That(reply.IssuedCookie, Is.Not.Null, $"setting up a session: /hit must issue a session cookie within 10 attempts. {reply.Describe()}");
                Assert.That(reply.Body, Is.EqualTo("1"), $"setting up a session. {reply.Describe()}");
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(600), app.Token); // past the breaker's 500 ms break, should the cold start have opened it
        }

        // Warm the read and save paths too, so that the measured requests are not the first of their kind.
        AssertOk(await browser.GetAsync("/read"), "1", "setting up: a warm read");
        return browser;
    }

    /// <summary>
    /// A store that stops answering (every call hangs and ignores cancellation, as under <c>SIGSTOP</c>): a session
    /// request answers 503 within <see cref="SessionOptions.OperationTimeout"/>, a route without the session is served,
    /// and once the store answers again the next request is served.
    /// </summary>
    [Test]
    public virtual async Task A_hung_store_answers_503_within_the_operation_timeout()
    {
        var timeout = TimeSpan.FromSeconds(1);
        var app = await StartAppAsync(o =>
        {
            o.OperationTimeout = timeout;
            LongIdleTimeout(o);
        });
        var browser = await WarmBrowserWithSessionAsync(app);

        Reply reply;
        TimeSpan took;
        app.Backend.Frozen = true;
        try
        {
            var watch = Stopwatch.StartNew();
            reply = await browser.GetAsync("/hit");
            took = watch.Elapsed;
            AssertOk(await app.NewBrowser().GetAsync("/plain"), "ok", "a route without a session while the store hangs");
        }
        finally
        {
            app.Backend.Frozen = false;
        }

        AssertUnavailable(reply);
        Assert.That(took, Is.LessThan(timeout + TimingMargin), $"a hung store must fail the request after Sessions:OperationTimeout ({timeout.TotalMilliseconds:0} ms), not hold it; it took {took.TotalMilliseconds:0} ms.");
        AssertOk(await browser.GetAsync("/hit"), "2", "the first request once the store answers again");
    }

    /// <summary>
    /// While the store hangs, calls time out until the circuit breaker opens; from then on session requests fail at once
    /// (no waiting for the timeout), the outage is logged once (event 1040) rather than per request, and within about a
    /// second of the store's return sessions are served again and the end of the outage is logged (event 1042).
    /// </summary>
    [Test]
    public virtual async Task A_store_known_to_be_down_fails_fast_and_is_used_again_within_a_second_of_its_return()
    {
        var timeout = TimeSpan.FromSeconds(2);
        var app = await StartAppAsync(o =>
        {
            o.OperationTimeout = timeout;
            LongIdleTimeout(o);
            o.CircuitBreaker.MinimumThroughput = 4;
            o.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(30);
            o.CircuitBreaker.BreakDuration = TimeSpan.FromMilliseconds(500);
        });
        var browser = await WarmBrowserWithSessionAsync(app);
        var startsBefore = app.Logs.Entries.Count(e => e.EventId.Id == 1040);
        var endsBefore = app.Logs.Entries.Count(e => e.EventId.Id == 1042);

        Reply[] timedOut;
        Reply fast;
        TimeSpan fastTook;
        Stopwatch sinceReturn;
        app.Backend.Frozen = true;
        try
        {
            // All on the browser's own session: on a backend with partitions (a Redis Cluster's primaries, a memcached
            // pool) the breaker that must open is the one of the partition that session lives on.
            timedOut = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => browser.GetAsync("/hit")));
            var watch = Stopwatch.StartNew();
            fast = await browser.GetAsync("/hit");
            fastTook = watch.Elapsed;
        }
        finally
        {
            app.Backend.Frozen = false;
            sinceReturn = Stopwatch.StartNew();
        }

        Reply? served = null;
        while (sinceReturn.Elapsed < TimeSpan.FromSeconds(10))
        {
            var attempt = await browser.GetAsync("/hit");
            if ((int)attempt.Status == 200)
            {
                served = attempt;
                break;
            }

            await Task.Delay(25, app.Token);
        }

        var servedAfter = sinceReturn.Elapsed;
        using (Assert.EnterMultipleScope())
        {
            foreach (var reply in timedOut)
            {
                Assert.That((int)reply.Status, Is.EqualTo(503), $"a request while the store hangs. {reply.Describe()}");
            }

            Assert.That((int)fast.Status, Is.EqualTo(503), $"a request once the store is known to be down. {fast.Describe()}");
            Assert.That(fastTook, Is.LessThan(timeout / 2), $"once the breaker is open a request must fail at once, not wait for the {timeout.TotalMilliseconds:0} ms timeout; it took {fastTook.TotalMilliseconds:0} ms.");
            Assert.That(served, Is.Not.Null, "sessions must be served again once the store answers");
            Assert.That(served?.Body, Is.EqualTo("2"), "the session survived the outage");
            Assert.That(servedAfter, Is.LessThan(TimeSpan.FromSeconds(1) + TimingMargin), $"the first success came {servedAfter.TotalMilliseconds:0} ms after the store's return; the promise is within 1 s (500 ms break), plus a margin for a busy machine.");
            // Once per partition: a backend that declares partitions (a Redis Cluster's primaries) has an outage per partition.
            var starts = app.Logs.Entries.Where(e => e.EventId.Id == 1040).Skip(startsBefore).Select(e => OutageScope(e.Message)).ToList();
            var ends = app.Logs.Entries.Where(e => e.EventId.Id == 1042).Skip(endsBefore).Select(e => OutageScope(e.Message)).ToList();
            Assert.That(starts, Is.Not.Empty.And.Unique, "the outage's start is logged once (event 1040) per partition, not per request:\n" + string.Join("\n", app.Logs.Entries));
            Assert.That(ends, Is.Not.Empty.And.Unique, "the outage's end is logged once (event 1042) per partition:\n" + string.Join("\n", app.Logs.Entries));
            Assert.That(ends, Is.SubsetOf(starts), "only an outage that started ends");
        }
    }

    // "whole store" or "partition <name>": what an outage log entry (events 1040-1042) is about.
    private static string OutageScope(string message) => Regex.Match(message, @"^Session backend '[^']*' \((?<scope>[^)]*)\)").Groups["scope"].Value;

    /// <summary>
    /// A session of about half the store's record limit grown past that limit (but under <see cref="SessionOptions.MaxPayloadBytes"/>)
    /// answers 413 with both sizes, nothing is written, and the stored session is intact: a reload shows the old data.
    /// </summary>
    [Test]
    public virtual async Task A_session_grown_past_the_store_record_limit_answers_413_and_the_stored_session_stays_intact()
    {
        var app = await StartAppAsync(o => o.MaxPayloadBytes = int.MaxValue / 2);
        if ((app.Backend.Inner as Backends.ISessionBackendLimits)?.MaxPayloadBytes is not { } limit)
        {
            Assert.Ignore($"{app.Store.BackendName} states no record limit (ISessionBackendLimits); Sessions:MaxPayloadBytes alone bounds its sessions.");
            return;
        }

        const int LargestLimitToFill = 16 * 1024 * 1024;
        if (limit > LargestLimitToFill)
        {
            Assert.Ignore($"{app.Store.BackendName}'s record limit is {limit} bytes, beyond what a test should fill over HTTP ({LargestLimitToFill} bytes); "
                + "the backend half's A_session_over_the_backend_record_limit_is_refused_before_writing_and_the_stored_one_stays checks the refusal at the engine.");
            return;
        }

        var browser = await BrowserWithSessionAsync(app);
        var half = limit / 2;
        AssertOk(await browser.GetAsync($"/fill?key=a&bytes={half}"), "ok", $"setting up: a session of half the {limit}-byte limit");
        var grown = await browser.GetAsync($"/fill?key=b&bytes={limit - half + 1024}");

        var numbers = Regex.Matches(grown.Body, "[0-9][0-9,]*").Select(m => long.Parse(m.Value.Replace(",", string.Empty, StringComparison.Ordinal), CultureInfo.InvariantCulture)).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)grown.Status, Is.EqualTo(413), $"a session over the store's record limit is refused with 413. {grown.Describe()}");
            Assert.That(numbers, Does.Contain((long)limit), $"the answer gives the limit ({limit} bytes). {grown.Describe()}");
            Assert.That(numbers.Any(n => n > limit && n < 2L * limit), Is.True, $"the answer gives the session's size. {grown.Describe()}");
        }

        AssertOk(await browser.GetAsync("/size?key=a"), half.ToString(CultureInfo.InvariantCulture), "the stored session after the refused write");
        AssertOk(await browser.GetAsync("/size?key=b"), "(none)", "the refused value");
        AssertOk(await browser.GetAsync("/read"), "1", "the rest of the stored session");
    }

    /// <summary>
    /// A session whose record the backend cannot read (garbage in the store under its key): the request is served with a
    /// new session (200, a new cookie), the corrupt record is logged once (event 1001) and counted in
    /// <c>sessions.corrupt_records</c>, and it is never treated as an outage (no 503, no backend error).
    /// </summary>
    [Test]
    public virtual async Task An_unreadable_record_gives_a_new_session_and_is_logged_and_counted_once()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);
        var oldId = browser.Cookie!;
        var key = app.Store.Keys.ForSession(oldId);
        Assert.That(key, Is.Not.Null, "setting up: the session's storage key");
        await WriteUnreadableRecordAsync(key!, app.Token);

        long corrupt = 0;
        long errors = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SessionsTelemetry.MeterName && instrument.Name is "sessions.corrupt_records" or "sessions.backend.errors")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "sessions.backend" && Equals(tag.Value, app.Store.BackendName))
                {
                    _ = Interlocked.Add(ref instrument.Name == "sessions.corrupt_records" ? ref corrupt : ref errors, value);
                }
            }
        });
        listener.Start();

        var reply = await browser.GetAsync("/hit");
        var next = await browser.GetAsync("/hit");
        listener.Dispose();

        using (Assert.EnterMultipleScope())
        {
            AssertOk(reply, "1", "a request whose session record cannot be read gets a new session");
            Assert.That(reply.IssuedCookie?.Value, Is.Not.Null.And.Not.EqualTo(oldId), $"a new session ID is issued. {reply.Describe()}");
            AssertOk(next, "2", "the new session works");
            Assert.That(app.Logs.Entries.Count(e => e.EventId.Id == 1001), Is.EqualTo(1), "the corrupt record is logged once (event 1001):\n" + string.Join("\n", app.Logs.Entries));
            Assert.That(app.Logs.Entries.Where(e => e.Level >= LogLevel.Error), Is.Empty, "a corrupt record is not an outage:\n" + string.Join("\n", app.Logs.Entries));
            Assert.That(Interlocked.Read(ref corrupt), Is.GreaterThanOrEqualTo(1), "sessions.corrupt_records counts it");
            Assert.That(Interlocked.Read(ref errors), Is.Zero, "sessions.backend.errors must not count a corrupt record");
        }
    }
}
