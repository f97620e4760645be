using StackExchange.Redis;

namespace Sessions.Redis.Tests.Support;

/// <summary>
/// One StackExchange.Redis multiplexer per shared test server (admin commands allowed, for <c>SCRIPT FLUSH</c> and
/// <c>SCAN</c>), opened on first use: what fixtures use to plant values behind the backend's back, and what the
/// shared-multiplexer fixtures hand to the backend. Closed by <see cref="TestServersLifetime"/>.
/// </summary>
internal static class SharedMultiplexers
{
    private static readonly Lazy<Task<ConnectionMultiplexer>> s_redis = new(() => ConnectAsync(TestServers.RedisAsync()));
    private static readonly Lazy<Task<ConnectionMultiplexer>> s_garnet = new(() => ConnectAsync(TestServers.GarnetAsync()));
    private static readonly Lazy<Task<ConnectionMultiplexer>> s_cluster = new(() => ConnectAsync(TestServers.ClusterAsync()));

    public static Task<ConnectionMultiplexer> RedisAsync() => s_redis.Value;

    public static Task<ConnectionMultiplexer> GarnetAsync() => s_garnet.Value;

    public static Task<ConnectionMultiplexer> ClusterAsync() => s_cluster.Value;

    /// <summary>A new multiplexer to <paramref name="configuration"/> with admin commands allowed; the caller disposes it.</summary>
    public static async Task<ConnectionMultiplexer> ConnectAsync(string configuration) =>
        await ConnectionMultiplexer.ConnectAsync(configuration + ",allowAdmin=true,abortConnect=false,asyncTimeout=5000,syncTimeout=5000");

    public static void CloseAll()
    {
        foreach (var lazy in new[] { s_redis, s_garnet, s_cluster })
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                lazy.Value.Result.Dispose();
            }
        }
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(Task<string> configuration) => await ConnectAsync(await configuration);
}
