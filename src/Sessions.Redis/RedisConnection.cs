using System.Net.Security;
using Sessions.Redis.Protocol;

namespace Sessions.Redis;

/// <summary>
/// Connections to a Redis server, Redis Cluster or Garnet that the application creates once and shares: hand it to
/// <c>AddRedisBackend(connection)</c> or to several <see cref="RedisSessionBackend"/>s (different key prefixes, say), and
/// they all pipeline over the same connection per server. The application owns it: backends and the DI container never
/// dispose it, so dispose it yourself when the application ends.
/// </summary>
/// <remarks>Connecting happens on first use; after an outage the connection reopens by itself in the background.</remarks>
public sealed class RedisConnection : IAsyncDisposable, IDisposable
{
    private RedisConnection(RedisClient client) => Client = client;

    internal RedisClient Client { get; }

    /// <summary>The database this connection selects (from the configuration string; default 0).</summary>
    internal int Database => Client.Configuration.Database;

    /// <summary>Creates a connection from a configuration string. Nothing is sent until the first command.</summary>
    /// <param name="configuration">Where Redis is and how to connect, in any form
    /// <see cref="RedisSessionBackendOptions.Configuration"/> accepts, e.g. <c>"127.0.0.1:6379"</c> or
    /// <c>"rediss://app:s3cret@redis.internal:6380/2"</c>.</param>
    /// <param name="serverCertificateValidation">Decides whether the server's TLS certificate is trusted;
    /// <see langword="null"/> (default) uses the operating system's trust store and checks the host name.</param>
    /// <returns>The connection; dispose it when the application ends.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="configuration"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException"><paramref name="configuration"/> is invalid; the message says what is wrong.</exception>
    public static RedisConnection Create(string configuration, RemoteCertificateValidationCallback? serverCertificateValidation = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return new RedisConnection(new RedisClient(RedisConfiguration.Parse(configuration), serverCertificateValidation));
    }

    /// <summary>Closes the connections and waits for their background work to end. Backends that use this connection
    /// fail afterwards with <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A task that completes when the connections are closed.</returns>
    public ValueTask DisposeAsync() => Client.DisposeAsync();

    /// <summary>Closes the connections without waiting for their background work; commands in flight fail at once.</summary>
    public void Dispose() => Client.Dispose();

    /// <summary>The servers this connection was configured with (no credentials).</summary>
    /// <returns>For example <c>127.0.0.1:6379</c>.</returns>
    public override string ToString() => Client.Configuration.ToString();
}
