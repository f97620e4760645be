using Sessions.Backends;

namespace Sessions.Conformance;

/// <summary>
/// Wraps the backend under test: counts the calls the core makes, and simulates an outage (every call throws) while
/// <see cref="Failing"/> is set. Disposing it disposes the wrapped backend.
/// </summary>
internal sealed class ObservedBackend(ISessionBackend inner) : ISessionBackend, IAsyncDisposable
{
    private int _gets;
    private int _sets;
    private int _removes;
    private int _touches;
    private volatile bool _failing;

    public ISessionBackend Inner { get; } = inner;

    /// <summary>While set, every call throws <see cref="IOException"/>, as a backend that cannot be reached would.</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    /// <summary>
    /// A delay added before every call, as a store across a network adds one; zero (the default) adds none. With it, the
    /// requests of a concurrency test overlap in the store as they do in production instead of finishing one by one.
    /// </summary>
    public TimeSpan Latency { get; set; }

    public int Gets => Volatile.Read(ref _gets);

    public int Sets => Volatile.Read(ref _sets);

    public int Removes => Volatile.Read(ref _removes);

    public int Touches => Volatile.Read(ref _touches);

    public int Calls => Gets + Sets + Removes + Touches;

    public string Describe() => $"{Gets} get, {Sets} set, {Removes} remove, {Touches} touch";

    public void ResetCounts()
    {
        Interlocked.Exchange(ref _gets, 0);
        Interlocked.Exchange(ref _sets, 0);
        Interlocked.Exchange(ref _removes, 0);
        Interlocked.Exchange(ref _touches, 0);
    }

    public ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _gets);
        ThrowIfFailing();
        return Latency > TimeSpan.Zero ? Delayed(() => Inner.GetAsync(key, cancellationToken), cancellationToken) : Inner.GetAsync(key, cancellationToken);
    }

    public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sets);
        ThrowIfFailing();
        return Latency > TimeSpan.Zero ? Delayed(() => Inner.SetAsync(key, record, condition, cancellationToken), cancellationToken) : Inner.SetAsync(key, record, condition, cancellationToken);
    }

    public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _removes);
        ThrowIfFailing();
        return Latency > TimeSpan.Zero ? Delayed(() => Inner.RemoveAsync(key, expectedVersion, cancellationToken), cancellationToken) : Inner.RemoveAsync(key, expectedVersion, cancellationToken);
    }

    public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _touches);
        ThrowIfFailing();
        return Latency > TimeSpan.Zero ? Delayed(() => Inner.TouchAsync(key, expiresAt, cancellationToken), cancellationToken) : Inner.TouchAsync(key, expiresAt, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        switch (Inner)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    private async ValueTask<T> Delayed<T>(Func<ValueTask<T>> call, CancellationToken cancellationToken)
    {
        await Task.Delay(Latency, cancellationToken);
        return await call();
    }

    private void ThrowIfFailing()
    {
        if (_failing)
        {
            throw new IOException("Simulated outage: the conformance kit made the session backend unreachable.");
        }
    }
}
