using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using NUnit.Framework;
using Sessions.Engine;

namespace Sessions.Tests.Shared.Partitions;

/// <summary>
/// Issue 21, fault 5, shared by the Redis Cluster and memcached pool tests: 8 readers load a set of sessions round-robin
/// through the engine while one partition (a primary, a pool server) is killed; afterwards, the sessions on the live
/// partitions must all have been served, and the dead partition's sessions must fail, at once once its breaker is open.
/// </summary>
internal static class PartitionKillRun
{
    /// <summary>One session of the run: its ID, the byte stored under "n", and whether it lives on the partition killed.</summary>
    internal readonly record struct Session(string Id, byte Value, bool Dead);

    /// <summary>Runs the readers for 1 s, calls <paramref name="kill"/>, runs them 5 s more, then checks what the readers saw.</summary>
    /// <param name="store">The engine over the partitioned backend.</param>
    /// <param name="sessions">The sessions, stored already.</param>
    /// <param name="kill">Kills the partition.</param>
    /// <param name="timeout">The store's operation timeout.</param>
    /// <param name="victim">The killed partition's name, for messages; an error naming it is required when <paramref name="errorNamesVictim"/>.</param>
    /// <param name="errorNamesVictim">Whether the backend error must name the dead partition.</param>
    public static async Task RunAsync(SessionStore store, IReadOnlyList<Session> sessions, Func<Task> kill, TimeSpan timeout, string victim, bool errorNamesVictim)
    {
        var calls = new ConcurrentQueue<(bool Dead, TimeSpan Started, TimeSpan Took, Exception? Error, bool Intact)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 8).Select(reader => Task.Run(async () =>
        {
            for (var i = reader; !stop.IsCancellationRequested; i += 8)
            {
                var (id, value, dead) = sessions[i % sessions.Count];
                var started = clock.Elapsed;
                try
                {
                    var loaded = await store.LoadAsync(id, CancellationToken.None);
                    var intact = loaded is not null && loaded.TryGetValue("n", out var bytes) && bytes is [var b] && b == value;
                    calls.Enqueue((dead, started, clock.Elapsed - started, null, intact));
                }
                catch (Exception e)
                {
                    calls.Enqueue((dead, started, clock.Elapsed - started, e, false));
                }
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(1));
        var killedAt = clock.Elapsed;
        await kill();
        await Task.Delay(TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        var after = calls.Where(c => c.Started >= killedAt).ToList();
        var aliveCalls = after.Where(c => !c.Dead).ToList();
        var deadCalls = after.Where(c => c.Dead).ToList();
        var lastSecond = deadCalls.Where(c => c.Started >= killedAt + TimeSpan.FromSeconds(4)).ToList();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"after the kill: {aliveCalls.Count} reads of {sessions.Count(s => !s.Dead)} sessions on live partitions ({aliveCalls.Count(c => c.Error is not null)} failed, slowest {aliveCalls.Select(c => c.Took.TotalMilliseconds).DefaultIfEmpty().Max():0} ms); "
            + $"{deadCalls.Count} reads of {sessions.Count(s => s.Dead)} sessions on {victim} ({deadCalls.Count(c => c.Error is not null)} failed; in the last second {lastSecond.Count(c => c.Took >= TimeSpan.FromMilliseconds(100))} of {lastSecond.Count} took 100 ms or more, the probes)"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sessions.Where(s => s.Dead), Is.Not.Empty, "setting up: sessions on the killed partition");
            Assert.That(aliveCalls, Has.Count.GreaterThan(sessions.Count(s => !s.Dead) * 2), "the live partitions' sessions were read throughout");
            Assert.That(aliveCalls.Where(c => c.Error is not null).Select(c => c.Error!.Message).Distinct(), Is.Empty, "no read of a session on a live partition may fail (no 503)");
            Assert.That(aliveCalls.Where(c => !c.Intact), Is.Empty, "every session on a live partition reads back with its data");
            Assert.That(deadCalls.Where(c => c.Started >= killedAt + TimeSpan.FromSeconds(1)), Has.All.Matches<(bool, TimeSpan, TimeSpan, Exception? Error, bool)>(c => c.Error is SessionBackendException), "the killed partition's sessions fail with the backend error (503 in an app)");
            Assert.That(deadCalls.Select(c => c.Took), Has.All.LessThan(timeout + TimeSpan.FromSeconds(2)), "no read waits past the operation timeout");
            Assert.That(lastSecond, Is.Not.Empty);
            Assert.That(lastSecond.Where(c => c.Took >= TimeSpan.FromMilliseconds(100)).ToList(), Has.Count.LessThanOrEqualTo(4), "once the dead partition's breaker is open its sessions fail at once, but for one probe every 500 ms (BreakDuration)");
            if (errorNamesVictim)
            {
                Assert.That(deadCalls.Where(c => c.Error is SessionBackendException).Select(c => c.Error!.Message), Has.Some.Contain(victim), "the error names the dead partition");
            }
        }
    }
}
