using Sessions.Redis.Tests.Support;

namespace Sessions.Tool.Tests.Support;

/// <summary>
/// The redis-server shared by every fixture of the run, started on first use on a free loopback port and stopped (by its
/// PID) by <see cref="ToolTestServersLifetime"/> when the run ends. Servers a single test needs (memcached) are started and
/// disposed by that test.
/// </summary>
internal static class ToolTestServers
{
    private static readonly Lock s_gate = new();
    private static Task<RedisServerProcess>? s_redis;

    /// <summary>The run's redis-server, started by the first caller.</summary>
    public static Task<RedisServerProcess> RedisAsync()
    {
        lock (s_gate)
        {
            // A start that failed is not cached: the next fixture tries again and reports its own failure.
            if (s_redis is null || s_redis.IsFaulted || s_redis.IsCanceled)
            {
                s_redis = RedisServerProcess.StartRedisAsync();
            }

            return s_redis;
        }
    }

    /// <summary>Stops the redis-server this run started, if any, and waits for it to exit.</summary>
    public static void StopAll()
    {
        Task<RedisServerProcess>? started;
        lock (s_gate)
        {
            started = s_redis;
            s_redis = null;
        }

        if (started is { IsCompletedSuccessfully: true })
        {
            started.Result.Stop();
        }
    }
}
