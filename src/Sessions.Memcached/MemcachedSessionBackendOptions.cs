namespace Sessions.Memcached;

/// <summary>Where the memcached servers are and how long to wait for them.</summary>
public sealed class MemcachedSessionBackendOptions
{
    /// <summary>
    /// The servers, comma-separated: <c>"host:port"</c> or <c>"host:port,host:port,..."</c> (<c>[ipv6]:port</c> works; the
    /// port defaults to 11211). Keys are spread over several servers by consistent hashing on these names, so every app
    /// instance must list the same servers, spelled the same way. Default: <c>"127.0.0.1:11211"</c>.
    /// </summary>
    public string Servers { get; set; } = "127.0.0.1:11211";

    /// <summary>How long to wait for a TCP connection to a server. Default: 2 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long to wait for a server's reply. When it passes, the connection is closed, its calls fail, and the server is
    /// marked down. Default: 2 s.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Connections kept open to each server; each carries any number of pipelined calls. Default: 2.</summary>
    public int ConnectionsPerServer { get; set; } = 2;

    /// <summary>
    /// How long a server that refused a connection or stopped answering is left alone before the next attempt; calls for
    /// its keys fail at once meanwhile. The wait doubles on each failed attempt, up to <see cref="MaxRetryDelay"/>. Default: 1 s.
    /// </summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts to reach a down server. Default: 16 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(16);
}
