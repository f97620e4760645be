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
    /// its keys fail at once meanwhile. The wait doubles on each failed attempt, up to <see cref="MaxRetryDelay"/>. Default: 250 ms.
    /// </summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest wait between attempts to reach a down server. It bounds how long after a server's return its sessions
    /// are still refused, however long it was down. Default: 500 ms.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The servers' item size limit in bytes: memcached's <c>-I</c> option (default 1 MiB, <c>-I 1m</c>; see memcached's
    /// <c>protocol.txt</c> and <c>memcached -h</c>). Set it to what the servers run with. The backend states the largest
    /// session payload it can store as this less its own 17-byte header, the longest key (250 bytes) and memcached's
    /// per-item overhead (256 bytes allowed), so the core refuses a larger session with 413 before anything is sent:
    /// memcached deletes the stored item when it refuses an oversized write. 2 KiB to 1 GiB. Default: 1,048,576.
    /// </summary>
    public int ItemSizeLimit { get; set; } = 1024 * 1024;
}
