using NUnit.Framework;
using Sessions.Tests.Shared.Partitions;
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
        await PartitionKillRun.RunAsync(
            store,
            [.. sessions.Select(s => new PartitionKillRun.Session(s.Id, s.Value, s.Dead))],
            victim.KillAsync,
            timeout,
            victim.Address,
            errorNamesVictim: false);
    }
}
