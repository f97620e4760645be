namespace Sessions.Backends;

/// <summary>
/// Optional backend capability: says which partition of the store a key lives on, so that a failure of one partition
/// stays partial. A partition is the part of the store that fails as a unit: a Redis Cluster primary (the server that
/// serves the key's hash slot), one memcached server of a consistent-hashed pool. The core keeps one circuit breaker and
/// one outage log per partition: when one primary dies, only the sessions stored on it fail (503, then at once while its
/// breaker is open), and the sessions on the other partitions keep being served. Backends without this capability, and
/// keys for which it answers <see langword="null"/>, share one breaker for the whole store.
/// </summary>
/// <remarks>
/// The core calls <see cref="GetPartition"/> before every keyed backend call (read, write, delete, touch), so it must be
/// cheap: no I/O, no blocking, no lock held for long, and ideally no allocation (return a cached string per partition).
/// Its answer must be stable while the store's topology is stable: the same key, the same partition. When the topology
/// changes (a failover promotes a replica, a server joins the pool), the answer may change with it; the key then gets the
/// new partition's breaker, closed unless that partition is failing too. The core keeps at most a bounded number of
/// partitions (see the package README); keys of partitions beyond that share the whole store's breaker.
/// </remarks>
public interface ISessionBackendPartitions
{
    /// <summary>Names the partition that holds <paramref name="key"/> now.</summary>
    /// <param name="key">A storage key, as the core passes it to <see cref="ISessionBackend"/> (ASCII, at most 250 bytes).</param>
    /// <returns>
    /// A short, stable name for the partition (for example the server's <c>host:port</c>), which also appears in the
    /// outage log; <see langword="null"/> when the backend cannot tell (not connected yet, a store that is not partitioned),
    /// and then the whole store's breaker applies. Must not throw; an exception is treated as <see langword="null"/>.
    /// </returns>
    string? GetPartition(string key);
}
