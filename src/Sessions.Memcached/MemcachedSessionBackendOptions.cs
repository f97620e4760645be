using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Sessions.Memcached.Protocol;

namespace Sessions.Memcached;

/// <summary>Where the memcached servers are and how long to wait for them; bound from <c>Sessions:Memcached</c>.</summary>
public sealed class MemcachedSessionBackendOptions : IValidatableObject
{
    /// <summary>
    /// The servers, comma-separated: <c>"host:port"</c> or <c>"host:port,host:port,..."</c> (<c>[ipv6]:port</c> works; the
    /// port defaults to 11211). Keys are spread over several servers by consistent hashing on these names, so every app
    /// instance must list the same servers, spelled the same way. Default: <c>"127.0.0.1:11211"</c>.
    /// </summary>
    public string Servers { get; set; } = "127.0.0.1:11211";

    /// <summary>How long to wait for a TCP connection to a server: more than 0, at most a day. Default: 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.0000001", "1.00:00:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long to wait for a server's reply, more than 0, at most a day; when it passes, the connection is closed,
    /// its calls fail and the server is marked down. Default: 2 s.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Connections kept open to each server, 1 to 64; each carries any number of pipelined calls. Default: 2.</summary>
    public int ConnectionsPerServer { get; set; } = 2;

    /// <summary>
    /// How long a server that refused a connection or stopped answering is left alone before the next attempt (its keys'
    /// calls fail at once meanwhile), doubling on each failed attempt up to <see cref="MaxRetryDelay"/>: more than 0, at
    /// most a day. Default: 250 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.0000001", "1.00:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between attempts to reach a down server, at least <see cref="RetryDelay"/> and at most a
    /// day: it bounds how long after a server's return its sessions are still refused. Default: 500 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.0000001", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The servers' item size limit in bytes (memcached's <c>-I</c>, default 1 MiB), 2 KiB to 1 GiB. The backend states the
    /// largest session payload it can store as this less 523 bytes (its record header, the longest key and memcached's
    /// per-item overhead), so the core refuses a larger session with 413 before anything is sent: memcached deletes the
    /// stored item when it refuses an oversized write. Default: 1,048,576.
    /// </summary>
    [Range(2048, 1024 * 1024 * 1024)]
    public int ItemSizeLimit { get; set; } = 1024 * 1024;

    /// <inheritdoc />
    /// <remarks>Rules whose messages are worded here rather than by <c>[Range]</c>, whose generated validator drops
    /// <c>ErrorMessage</c> (dotnet/runtime#123137).</remarks>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (MemcachedServer.TryParseList(Servers, out var error) is null)
        {
            yield return new($"Sessions:Memcached: {error}");
        }

        if (OperationTimeout <= TimeSpan.Zero || OperationTimeout > TimeSpan.FromDays(1))
        {
            yield return new($"Sessions:Memcached: OperationTimeout must be positive and at most a day; it is {OperationTimeout}.");
        }

        if (ConnectionsPerServer is < 1 or > 64)
        {
            yield return new($"Sessions:Memcached: ConnectionsPerServer must be 1 to 64; it is {ConnectionsPerServer}. Each connection pipelines any number of calls, so 1 to 4 is plenty.");
        }

        if (MaxRetryDelay < RetryDelay)
        {
            yield return new($"Sessions:Memcached: MaxRetryDelay ({MaxRetryDelay}) must be at least RetryDelay ({RetryDelay}).");
        }
    }
}

/// <summary>Validates <see cref="MemcachedSessionBackendOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class MemcachedSessionBackendOptionsValidator : IValidateOptions<MemcachedSessionBackendOptions>;
