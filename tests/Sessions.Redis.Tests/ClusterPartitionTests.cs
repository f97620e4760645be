using NUnit.Framework;
using Sessions.Tests.Shared.Partitions;
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
        await PartitionKillRun.RunAsync(
            store,
            [.. sessions.Select(s => new PartitionKillRun.Session(s.Id, s.Value, s.Partition == victim.Endpoint))],
            () => { victim.Stop(); return Task.CompletedTask; },
            timeout,
            victim.Endpoint,
            errorNamesVictim: true);
    }
}
