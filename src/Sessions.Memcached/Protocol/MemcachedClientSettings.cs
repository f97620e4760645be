namespace Sessions.Memcached.Protocol;

/// <summary>What the client needs to know, taken from <see cref="MemcachedSessionBackendOptions"/>.</summary>
internal sealed record MemcachedClientSettings
{
    public required IReadOnlyList<MemcachedServer> Servers { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public int ConnectionsPerServer { get; init; } = 2;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);
}
