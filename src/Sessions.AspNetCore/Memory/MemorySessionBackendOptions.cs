namespace Sessions.Memory;

/// <summary>Options for <see cref="MemorySessionBackend"/>.</summary>
public sealed class MemorySessionBackendOptions
{
    /// <summary>
    /// The most records kept at once, or <see langword="null"/> (the default) for no bound. When a write would exceed it,
    /// expired records are dropped first, then the live records closest to expiry (the least recently active ones);
    /// every eviction is counted in the <c>sessions.backend.evictions</c> metric.
    /// </summary>
    public int? MaxEntries { get; set; }
}
