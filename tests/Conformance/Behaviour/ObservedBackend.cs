using Sessions.Backends;

namespace Sessions.Conformance;

/// <summary>
/// Wraps the backend under test: counts the calls the core makes, and simulates an outage (every call throws) while
/// <see cref="Failing"/> is set, or a store that stopped answering while <see cref="Frozen"/> is set. It states the
/// wrapped backend's record limit, if any, lists keys when the wrapped backend can (<see cref="Wrap"/>), and states its
/// partitions (<see cref="ISessionBackendPartitions"/>), or test partitions of its own (<see cref="TestPartitions"/>) of
/// which one can fail (<see cref="FailingPartition"/>) or hang (<see cref="FrozenPartition"/>) while the others answer.
/// Its start-up work (<see cref="ISessionBackendInitializer"/>) is the wrapped backend's. Disposing it disposes the wrapped backend.
/// </summary>
internal class ObservedBackend(ISessionBackend inner) : ISessionBackend, ISessionBackendLimits, ISessionBackendPartitions, ISessionBackendInitializer, IAsyncDisposable
{
    /// <summary>The most test partitions <see cref="TestPartitions"/> accepts.</summary>
    public const int MaxTestPartitions = 16;

    private static readonly string[] s_partitionNames = [.. Enumerable.Range(0, MaxTestPartitions).Select(i => $"kit-{i}")];
    private readonly Lock _freezeLock = new();
    private TaskCompletionSource? _thaw;
    private TaskCompletionSource? _partitionThaw;
    private volatile int _testPartitions;
    private volatile int _failingPartition = -1;
    private volatile int _frozenPartition = -1;
    private int _gets;
    private int _sets;
    private int _removes;
    private int _touches;
    private volatile bool _failing;

    public ISessionBackend Inner { get; } = inner;

    /// <summary>Wraps <paramref name="inner"/>, keeping its <see cref="ISessionKeyEnumerator"/> capability if it has it.</summary>
    public static ObservedBackend Wrap(ISessionBackend inner) =>
        inner is ISessionKeyEnumerator enumerator && inner is not Backends.Migration.MigratingSessionBackend { CanEnumerateKeys: false }
            ? new Enumerating(inner, enumerator)
            : new ObservedBackend(inner);

    /// <summary>While set, every call throws <see cref="IOException"/>, as a backend that cannot be reached would.</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    /// <summary>
    /// While set, every call hangs, ignoring its cancellation token as a stopped (<c>SIGSTOP</c>) store would, until it is
    /// cleared; then the held calls go on to the backend.
    /// </summary>
    public bool Frozen
    {
        get
        {
            lock (_freezeLock)
            {
                return _thaw is not null;
            }
        }

        set
        {
            TaskCompletionSource? thawed = null;
            lock (_freezeLock)
            {
                if (value)
                {
                    _thaw ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                else
                {
                    (thawed, _thaw) = (_thaw, null);
                }
            }

            thawed?.TrySetResult();
        }
    }

    /// <summary>
    /// Zero (the default): the wrapper declares the wrapped backend's partitions, if it has any. 1 to
    /// <see cref="MaxTestPartitions"/>: it declares that many test partitions instead, <c>kit-0</c>, <c>kit-1</c>, ..., a
    /// key's being a stable hash of the key modulo their number (<see cref="TestPartitionOf"/>).
    /// </summary>
    public int TestPartitions
    {
        get => _testPartitions;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxTestPartitions);
            _testPartitions = value;
        }
    }

    /// <summary>While at or above zero, every call on a key of this test partition throws <see cref="IOException"/>; -1 (the default) for none.</summary>
    public int FailingPartition
    {
        get => _failingPartition;
        set => _failingPartition = value;
    }

    /// <summary>
    /// While at or above zero, every call on a key of this test partition hangs, ignoring its cancellation token as a stopped
    /// shard would, until it is set back to -1 (the default); then the held calls go on to the backend.
    /// </summary>
    public int FrozenPartition
    {
        get => _frozenPartition;
        set
        {
            TaskCompletionSource? thawed = null;
            lock (_freezeLock)
            {
                _frozenPartition = value;
                if (value >= 0)
                {
                    _partitionThaw ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                else
                {
                    (thawed, _partitionThaw) = (_partitionThaw, null);
                }
            }

            thawed?.TrySetResult();
        }
    }

    /// <summary>The test partition of <paramref name="key"/> (FNV-1a of its characters modulo <see cref="TestPartitions"/>); -1 when there are none.</summary>
    public int TestPartitionOf(string key)
    {
        var count = _testPartitions;
        if (count == 0)
        {
            return -1;
        }

        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % (uint)count);
    }

    /// <inheritdoc />
    public string? GetPartition(string key) =>
        _testPartitions > 0 ? s_partitionNames[TestPartitionOf(key)] : (Inner as ISessionBackendPartitions)?.GetPartition(key);

    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken) =>
        Inner is ISessionBackendInitializer initializer ? initializer.InitializeAsync(cancellationToken) : ValueTask.CompletedTask;

    /// <summary>The wrapped backend's record limit, or <see cref="int.MaxValue"/> when it states none.</summary>
    public int MaxPayloadBytes => (Inner as ISessionBackendLimits)?.MaxPayloadBytes ?? int.MaxValue;

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
        ThrowIfFailing(key);
        return Run(key, () => Inner.GetAsync(key, cancellationToken), cancellationToken);
    }

    public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sets);
        ThrowIfFailing(key);
        return Run(key, () => Inner.SetAsync(key, record, condition, cancellationToken), cancellationToken);
    }

    public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _removes);
        ThrowIfFailing(key);
        return Run(key, () => Inner.RemoveAsync(key, expectedVersion, cancellationToken), cancellationToken);
    }

    public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _touches);
        ThrowIfFailing(key);
        return Run(key, () => Inner.TouchAsync(key, expiresAt, cancellationToken), cancellationToken);
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

    private ValueTask<T> Run<T>(string key, Func<ValueTask<T>> call, CancellationToken cancellationToken)
    {
        var thaw = WhenThawed(key);
        return thaw is null && Latency <= TimeSpan.Zero ? call() : SlowAsync(thaw, call, cancellationToken);
    }

    private async ValueTask<T> SlowAsync<T>(Task? thaw, Func<ValueTask<T>> call, CancellationToken cancellationToken)
    {
        if (thaw is not null)
        {
            await thaw.ConfigureAwait(false);
        }

        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, cancellationToken).ConfigureAwait(false);
        }

        return await call().ConfigureAwait(false);
    }

    private Task? WhenThawed(string key)
    {
        lock (_freezeLock)
        {
            if (_thaw is { } thaw)
            {
                return thaw.Task;
            }

            return _frozenPartition >= 0 && TestPartitionOf(key) == _frozenPartition ? _partitionThaw?.Task : null;
        }
    }

    private protected void ThrowIfFailing(string? key = null)
    {
        if (_failing)
        {
            throw new IOException("Simulated outage: the conformance kit made the session backend unreachable.");
        }

        if (key is not null && _failingPartition >= 0 && TestPartitionOf(key) == _failingPartition)
        {
            throw new IOException($"Simulated partial outage: the conformance kit made partition kit-{_failingPartition} of the session backend unreachable.");
        }
    }

    // The wrapper of a backend that lists its keys: the engine's revocation scans through it (listing is not counted).
    private sealed class Enumerating(ISessionBackend inner, ISessionKeyEnumerator enumerator) : ObservedBackend(inner), ISessionKeyEnumerator
    {
        public IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, CancellationToken cancellationToken)
        {
            ThrowIfFailing();
            return enumerator.EnumerateKeysAsync(prefix, cancellationToken);
        }
    }
}
