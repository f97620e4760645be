using System.Diagnostics;
using NUnit.Framework;

namespace Sessions.Conformance;

// Issue 21, fault 5: a partial failure of the store stays partial. The kit's wrapper declares three test partitions
// (ISessionBackendPartitions) on every backend and hangs one of them, as a killed or frozen Redis Cluster primary or
// memcached server would: the circuit breaker is per partition, so the other partitions' sessions keep being served.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>
    /// One partition of three hangs (every call on its keys waits, ignoring cancellation): the sessions stored on the two
    /// healthy partitions keep answering 200 with their data throughout, the hung partition's sessions answer 503, within the
    /// operation timeout at first and at once once its breaker is open, only that partition's outage is logged (event 1040
    /// naming it), and once it answers again every session is served, its data intact.
    /// </summary>
    [Test]
    public virtual async Task A_failing_partition_fails_only_its_own_sessions_and_the_other_partitions_keep_being_served()
    {
        const int Partitions = 3;
        const int Failing = 0;
        const int PerPartition = 3;
        var timeout = TimeSpan.FromSeconds(1);
        var app = await StartAppAsync(o =>
        {
            o.OperationTimeout = timeout;
            LongIdleTimeout(o);
            o.CircuitBreaker.MinimumThroughput = 4;

            // Opens on a quarter of the calls failing: one breaker for the whole store would open on this one partition's
            // failures and then refuse the healthy partitions' sessions too.
            o.CircuitBreaker.FailureRatio = 0.25;
            o.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(30);
            o.CircuitBreaker.BreakDuration = TimeSpan.FromMilliseconds(500);
        });
        app.Backend.TestPartitions = Partitions;

        // Sessions with n = 1, at least PerPartition on each partition (keys are hashes: about a third land on each).
        var sessions = new List<(Browser Browser, int Partition)>();
        var first = await WarmBrowserWithSessionAsync(app);
        sessions.Add((first, PartitionOf(app, first)));
        for (var attempt = 0; attempt < 60 && Enumerable.Range(0, Partitions).Any(p => sessions.Count(s => s.Partition == p) < PerPartition); attempt++)
        {
            var browser = await BrowserWithSessionAsync(app);
            sessions.Add((browser, PartitionOf(app, browser)));
        }

        Assert.That(Enumerable.Range(0, Partitions).Select(p => sessions.Count(s => s.Partition == p)), Has.All.GreaterThanOrEqualTo(PerPartition), "setting up: sessions on every partition");
        var healthy = sessions.Where(s => s.Partition != Failing).ToList();
        var failing = sessions.Where(s => s.Partition == Failing).ToList();
        var startsBefore = app.Logs.Entries.Count(e => e.EventId.Id == 1040);

        var rounds = new List<(int Partition, Reply Reply, TimeSpan Took)[]>();
        Stopwatch sinceReturn;
        app.Backend.FrozenPartition = Failing;
        try
        {
            // Every session at once, four times: the hung partition's calls time out until its breaker opens.
            for (var round = 0; round < 4; round++)
            {
                rounds.Add(await Task.WhenAll(sessions.Select(async s =>
                {
                    var watch = Stopwatch.StartNew();
                    var reply = await s.Browser.GetAsync("/hit");
                    return (s.Partition, reply, watch.Elapsed);
                })));
            }
        }
        finally
        {
            app.Backend.FrozenPartition = -1;
            sinceReturn = Stopwatch.StartNew();
        }

        var served = new List<Reply>();
        foreach (var (browser, _) in failing)
        {
            Reply reply;
            do
            {
                reply = await browser.GetAsync("/read");
                if ((int)reply.Status != 200)
                {
                    await Task.Delay(25, app.Token);
                }
            }
            while ((int)reply.Status != 200 && sinceReturn.Elapsed < TimeSpan.FromSeconds(10));

            served.Add(reply);
        }

        var servedAfter = sinceReturn.Elapsed;
        var outages = app.Logs.Entries.Where(e => e.EventId.Id == 1040).Skip(startsBefore).ToList();
        using (Assert.EnterMultipleScope())
        {
            for (var round = 0; round < rounds.Count; round++)
            {
                foreach (var (partition, reply, took) in rounds[round])
                {
                    if (partition == Failing)
                    {
                        Assert.That((int)reply.Status, Is.EqualTo(503), $"round {round + 1}: a session on the hung partition kit-{Failing}. {reply.Describe()}");
                        Assert.That(took, Is.LessThan(timeout + TimingMargin), $"round {round + 1}: a session on the hung partition must fail within the operation timeout; it took {took.TotalMilliseconds:0} ms.");
                    }
                    else
                    {
                        AssertOk(reply, (round + 2).ToString(System.Globalization.CultureInfo.InvariantCulture), $"round {round + 1}: /hit on a session of the healthy partition kit-{partition} while kit-{Failing} hangs");
                    }
                }
            }

            // Every call but one: when BreakDuration (500 ms) has passed on a busy machine, the breaker lets one call
            // through as a probe, which waits the timeout.
            var last = rounds[^1].Where(r => r.Partition == Failing).Select(r => r.Took).Order().ToList();
            var fast = last[^2];
            Assert.That(fast, Is.LessThan(timeout / 2), $"once the hung partition's breaker is open its sessions must fail at once (all but one probe), not wait for the {timeout.TotalMilliseconds:0} ms timeout; took {string.Join(", ", last.Select(t => $"{t.TotalMilliseconds:0} ms"))}.");
            foreach (var reply in served)
            {
                AssertOk(reply, "1", "a session of the hung partition once it answers again: served, and the failed requests changed nothing");
            }

            Assert.That(servedAfter, Is.LessThan(TimeSpan.FromSeconds(1) + TimingMargin + (TimingMargin * failing.Count / 4)), $"the hung partition's sessions were all served again {servedAfter.TotalMilliseconds:0} ms after its return.");
            Assert.That(outages, Has.Count.EqualTo(1), "only the hung partition's outage is logged (event 1040), once:\n" + string.Join("\n", outages));
            Assert.That(outages.FirstOrDefault()?.Message, Does.Contain($"partition kit-{Failing}"), "the outage log names the failing partition");
        }

        foreach (var (browser, _) in healthy)
        {
            AssertOk(await browser.GetAsync("/read"), "5", "a session of a healthy partition after the partial outage: every /hit was kept");
        }
    }

    private static int PartitionOf(BehaviourApp app, Browser browser)
    {
        var key = app.Store.Keys.ForSession(browser.Cookie!);
        Assert.That(key, Is.Not.Null, "setting up: the session's storage key");
        return app.Backend.TestPartitionOf(key!);
    }
}
