using System.Diagnostics;

namespace Sessions.Redis.Tests.Support;

/// <summary>
/// The servers shared by the whole test run, each started on first use: redis-server, Garnet and a 3-primary Redis
/// Cluster, all on loopback. <c>SESSIONS_TEST_REDIS</c>, <c>SESSIONS_TEST_GARNET</c> and <c>SESSIONS_TEST_REDIS_CLUSTER</c>
/// point at external servers instead (any configuration string the client accepts). Stopped by
/// <see cref="TestServersLifetime"/> when the run ends.
/// </summary>
internal static class TestServers
{
    private static readonly List<RedisServerProcess> s_started = [];
    private static readonly Lazy<Task<string>> s_redis = new(() => StartAsync("SESSIONS_TEST_REDIS", async () => (await Track(RedisServerProcess.StartRedisAsync())).Endpoint));
    private static readonly Lazy<Task<string>> s_garnet = new(() => StartAsync("SESSIONS_TEST_GARNET", async () => (await Track(RedisServerProcess.StartGarnetAsync())).Endpoint));
    private static readonly Lazy<Task<string>> s_cluster = new(() => StartAsync("SESSIONS_TEST_REDIS_CLUSTER", async () => string.Join(",", (await StartClusterAsync("redis-cluster-node")).Select(n => n.Endpoint))));

    public static Task<string> RedisAsync() => s_redis.Value;

    public static Task<string> GarnetAsync() => s_garnet.Value;

    public static Task<string> ClusterAsync() => s_cluster.Value;

    /// <summary>Starts a server that the caller owns (and stops), remembered so that it is stopped at the end of the run at the latest.</summary>
    public static async Task<RedisServerProcess> Track(Task<RedisServerProcess> starting)
    {
        var server = await starting;
        lock (s_started)
        {
            s_started.Add(server);
        }

        return server;
    }

    public static void StopAll()
    {
        lock (s_started)
        {
            foreach (var server in s_started)
            {
                server.Stop();
            }

            s_started.Clear();
        }
    }

    private static Task<string> StartAsync(string variable, Func<Task<string>> start) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } external ? Task.FromResult(external) : start();

    /// <summary>Starts a new 3-primary Redis Cluster (its nodes are stopped at the end of the run at the latest).</summary>
    public static async Task<IReadOnlyList<RedisServerProcess>> StartClusterAsync(string name)
    {
        var directory = Directory.CreateTempSubdirectory("sessions-redis-cluster-");
        var nodes = new List<RedisServerProcess>();
        for (var i = 0; i < 3; i++)
        {
            var port = RedisServerProcess.FreePort();
            nodes.Add(await Track(RedisServerProcess.StartRedisAsync(
                $"--cluster-enabled yes --cluster-config-file {Path.Combine(directory.FullName, $"nodes-{port}.conf")} --cluster-node-timeout 5000 --dir {directory.FullName}",
                port,
                name: $"{name}-{i}")));
        }

        var create = new ProcessStartInfo("redis-cli", $"--cluster create {string.Join(" ", nodes.Select(n => n.Endpoint))} --cluster-replicas 0 --cluster-yes")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using (var process = Process.Start(create)!)
        {
            var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed ({process.ExitCode}): {output}");
            }
        }

        // Poll every node until it agrees that the cluster is up and every slot is covered.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        foreach (var node in nodes)
        {
            while (true)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                var info = await RedisServerProcess.RawCommandAsync(node.Port, "CLUSTER INFO", timeout.Token);
                if (info.Contains("cluster_state:ok", StringComparison.Ordinal) && info.Contains("cluster_slots_ok:16384", StringComparison.Ordinal))
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"The Redis Cluster on {string.Join(", ", nodes)} did not reach cluster_state:ok within 30 s: {info}");
                }

                await Task.Delay(50);
            }
        }

        return nodes;
    }
}
