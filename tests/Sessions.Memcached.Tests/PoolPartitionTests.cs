using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using NUnit.Framework;
using Sessions.Engine;
using Sessions.Memcached.Tests.Support;

namespace Sessions.Memcached.Tests;

/// <summary>
/// Issue 21, fault 5, on a pool of three real memcached servers: one is killed under load. The engine's circuit breaker
/// is per server (the backend declares each key's server as its partition), so the sessions on the two live servers keep
/// being served, every read succeeds, while the dead server's sessions fail (503 in an app), then at once.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PoolPartitionTests
{
    [Test]
    public async Task A_killed_server_fails_only_its_own_sessions_and_the_other_servers_keep_serving_theirs()
    {
        if (MemcachedServers.External is not null)
        {
            Assert.Ignore($"needs servers the test can kill; {MemcachedServers.EnvironmentVariable} points at external ones.");
        }

        await using var servers = await MemcachedServers.StartAsync(3);
        var victim = servers.Processes[1];
        await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = servers.Servers });
        var timeout = TimeSpan.FromSeconds(1);
        var store = new SessionStore(backend, new SessionOptions
        {
            OperationTimeout = timeout,
            IdleTimeout = TimeSpan.FromMinutes(20),
            CircuitBreaker = { MinimumThroughput = 4 }, // otherwise the defaults: opens at half the calls failing within 2 s
        }, "memcached");

        var sessions = new List<(string Id, byte Value, bool Dead)>();
        var declared = new List<(string? Partition, string Server)>();
        for (var i = 0; i < 60; i++)
        {
            var session = store.CreateNew();
            session.Set("n", [(byte)i]);
            await store.CommitAsync(session, CancellationToken.None);
            var key = store.Keys.ForSession(session.Id)!;
            sessions.Add((session.Id, (byte)i, backend.ServerFor(key) == victim.Address));
            declared.Add((backend.GetPartition(key), backend.ServerFor(key)));
        }

        Assert.That(declared.Select(d => d.Partition), Is.EqualTo(declared.Select(d => d.Server)), "the backend declares each key's server (host:port) as its partition");
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
        await victim.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        var after = calls.Where(c => c.Started >= killedAt).ToList();
        var aliveCalls = after.Where(c => !c.Dead).ToList();
        var deadCalls = after.Where(c => c.Dead).ToList();
        var lastSecond = deadCalls.Where(c => c.Started >= killedAt + TimeSpan.FromSeconds(4)).ToList();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"after the kill: {aliveCalls.Count} reads of sessions on live servers ({aliveCalls.Count(c => c.Error is not null)} failed, slowest {aliveCalls.Select(c => c.Took.TotalMilliseconds).DefaultIfEmpty().Max():0} ms); "
            + $"{deadCalls.Count} reads of {sessions.Count(s => s.Dead)} sessions on {victim.Address} ({deadCalls.Count(c => c.Error is not null)} failed; in the last second {lastSecond.Count(c => c.Took >= TimeSpan.FromMilliseconds(100))} of {lastSecond.Count} took 100 ms or more)"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sessions.Where(s => s.Dead), Is.Not.Empty, "setting up: sessions on the killed server");
            Assert.That(aliveCalls, Has.Count.GreaterThan(sessions.Count * 2), "the live servers' sessions were read throughout");
            Assert.That(aliveCalls.Where(c => c.Error is not null).Select(c => c.Error!.Message).Distinct(), Is.Empty, "no read of a session on a live server may fail (no 503)");
            Assert.That(aliveCalls.Where(c => !c.Intact), Is.Empty, "every session on a live server reads back with its data");
            Assert.That(deadCalls.Where(c => c.Started >= killedAt + TimeSpan.FromSeconds(1)), Has.All.Matches<(bool, TimeSpan, TimeSpan, Exception? Error, bool)>(c => c.Error is SessionBackendException), "the killed server's sessions fail with the backend error (503 in an app)");
            Assert.That(deadCalls.Select(c => c.Took), Has.All.LessThan(timeout + TimeSpan.FromSeconds(2)), "no read waits past the operation timeout");
            Assert.That(lastSecond, Is.Not.Empty);
            Assert.That(lastSecond.Where(c => c.Took >= TimeSpan.FromMilliseconds(100)).ToList(), Has.Count.LessThanOrEqualTo(4), "once the dead server's breaker is open its sessions fail at once");
        }
    }
}
