using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using NUnit.Framework;
using Sessions.Engine;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests;

/// <summary>
/// Issue 21, fault 5, on a real Redis Cluster of three primaries: one primary is killed (SIGKILL) under load. The sessions
/// stored on the other two keep being served, every read of them succeeds, while the dead primary's sessions fail
/// (503 in an app), within the operation timeout and then at once, since its circuit breaker is its own.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ClusterPartitionTests
{
    private readonly List<RedisServerProcess> _nodes = [];

    [OneTimeTearDown]
    public void StopServers()
    {
        foreach (var node in _nodes)
        {
            node.Stop();
        }
    }

    [Test]
    public async Task A_killed_primary_fails_only_its_own_sessions_and_the_other_primaries_keep_serving_theirs()
    {
        _nodes.AddRange(await TestServers.StartClusterAsync("redis-cluster-partition"));
        var configuration = string.Join(",", _nodes.Select(n => n.Endpoint));
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = configuration, KeyPrefix = "partition:" });
        var timeout = TimeSpan.FromSeconds(1);
        var store = new SessionStore(backend, new SessionOptions
        {
            OperationTimeout = timeout,
            IdleTimeout = TimeSpan.FromMinutes(20),
            CircuitBreaker = { MinimumThroughput = 4 }, // otherwise the defaults: opens at half the calls failing within 2 s
        }, "redis");

        // 60 sessions (about 20 per primary), each with its number, and the primary that serves each (asked of the cluster).
        await using var admin = await SharedMultiplexers.ConnectAsync(configuration);
        var sessions = new List<(string Id, byte Value, string Partition)>();
        var declared = new List<string?>();
        for (var i = 0; i < 60; i++)
        {
            var session = store.CreateNew();
            session.Set("n", [(byte)i]);
            await store.CommitAsync(session, CancellationToken.None);
            var key = store.Keys.ForSession(session.Id)!;
            var primary = admin.GetServer((StackExchange.Redis.RedisKey)("partition:" + key)).EndPoint!.ToString()!;
            sessions.Add((session.Id, (byte)i, primary));
            declared.Add(backend.GetPartition(key));
        }

        Assert.That(declared, Is.EqualTo(sessions.Select(s => s.Partition)), "the backend declares each key's partition: the host:port of the primary serving its slot");

        Assert.That(sessions.Select(s => s.Partition).Distinct().Order(), Is.EqualTo(_nodes.Select(n => n.Endpoint).Order()), "the partitions are the three primaries");
        var victim = _nodes[1];
        var dead = sessions.Where(s => s.Partition == victim.Endpoint).ToList();
        var alive = sessions.Where(s => s.Partition != victim.Endpoint).ToList();

        var calls = new ConcurrentQueue<(bool Dead, TimeSpan Started, TimeSpan Took, Exception? Error, bool Intact)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 8).Select(reader => Task.Run(async () =>
        {
            for (var i = reader; !stop.IsCancellationRequested; i += 8)
            {
                var (id, value, partition) = sessions[i % sessions.Count];
                var started = clock.Elapsed;
                try
                {
                    var loaded = await store.LoadAsync(id, CancellationToken.None);
                    var intact = loaded is not null && loaded.TryGetValue("n", out var bytes) && bytes is [var b] && b == value;
                    calls.Enqueue((partition == victim.Endpoint, started, clock.Elapsed - started, null, intact));
                }
                catch (Exception e)
                {
                    calls.Enqueue((partition == victim.Endpoint, started, clock.Elapsed - started, e, false));
                }
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(1));
        var killedAt = clock.Elapsed;
        victim.Stop();
        await Task.Delay(TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        var after = calls.Where(c => c.Started >= killedAt).ToList();
        var aliveCalls = after.Where(c => !c.Dead).ToList();
        var deadCalls = after.Where(c => c.Dead).ToList();
        var lastSecond = deadCalls.Where(c => c.Started >= killedAt + TimeSpan.FromSeconds(4)).ToList();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"after the kill: {aliveCalls.Count} reads of {alive.Count} sessions on live primaries ({aliveCalls.Count(c => c.Error is not null)} failed, slowest {aliveCalls.Select(c => c.Took.TotalMilliseconds).DefaultIfEmpty().Max():0} ms); "
            + $"{deadCalls.Count} reads of {dead.Count} sessions on {victim.Endpoint} ({deadCalls.Count(c => c.Error is not null)} failed; in the last second {lastSecond.Count(c => c.Took >= TimeSpan.FromMilliseconds(100))} of {lastSecond.Count} took 100 ms or more, the probes)"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(dead, Is.Not.Empty, "setting up: sessions on the killed primary");
            Assert.That(aliveCalls, Has.Count.GreaterThan(alive.Count * 2), "the live primaries' sessions were read throughout");
            Assert.That(aliveCalls.Where(c => c.Error is not null).Select(c => c.Error!.Message).Distinct(), Is.Empty, "no read of a session on a live primary may fail (no 503)");
            Assert.That(aliveCalls.Where(c => !c.Intact), Is.Empty, "every session on a live primary reads back with its data");
            Assert.That(deadCalls.Where(c => c.Started >= killedAt + TimeSpan.FromSeconds(1)), Has.All.Matches<(bool, TimeSpan, TimeSpan, Exception? Error, bool)>(c => c.Error is SessionBackendException), "the killed primary's sessions fail with the backend error (503 in an app)");
            Assert.That(deadCalls.Select(c => c.Took), Has.All.LessThan(timeout + TimeSpan.FromSeconds(2)), "no read waits past the operation timeout");
            Assert.That(lastSecond, Is.Not.Empty);
            Assert.That(lastSecond.Where(c => c.Took >= TimeSpan.FromMilliseconds(100)).ToList(), Has.Count.LessThanOrEqualTo(4), "once the dead primary's breaker is open its sessions fail at once, but for one probe every 500 ms (BreakDuration)");
            Assert.That(deadCalls.Where(c => c.Error is SessionBackendException).Select(c => c.Error!.Message), Has.Some.Contain(victim.Endpoint), "the error names the dead primary");
        }
    }
}
