using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Sessions.Backends;

namespace Sessions.Memory;

/// <summary>
/// An in-process backend: records live in this process's memory and vanish when it stops. Honours expiry and
/// conditions exactly (lock-free compare-and-swap on each key). For development, tests and single-instance apps.
/// </summary>
public sealed class MemorySessionBackend : ISessionBackend, ISessionKeyEnumerator, IExpiredSessionPurger
{
    private static readonly Counter<long> s_evictions = Diagnostics.SessionsInstrumentation.Meter.CreateCounter<long>(
        "sessions.backend.evictions", unit: "{record}", description: "Live records evicted by the in-memory backend's size bound.");

    // Every instrument of the Sessions meter carries the backend's name; this one is always the memory backend's.
    private static readonly KeyValuePair<string, object?> s_backendTag = new("sessions.backend", "memory");

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int? _maxEntries;
    private readonly Lock _evictionLock = new();

    /// <summary>Creates an in-memory backend.</summary>
    /// <param name="options">The size bound; <see langword="null"/> for defaults.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    public MemorySessionBackend(MemorySessionBackendOptions? options = null, TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _maxEntries = options?.MaxEntries;
        if (_maxEntries is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _maxEntries, "MemorySessionBackendOptions.MaxEntries must be positive, or null for no bound.");
        }
    }

    /// <summary>The number of records held, expired ones not yet purged included.</summary>
    public int Count => _entries.Count;

    /// <inheritdoc />
    public ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        cancellationToken.ThrowIfCancellationRequested();
        return new(TryGetLive(key, out var entry) ? entry.Record : null);
    }

    /// <inheritdoc />
    public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();

        // Copy: the caller may reuse its buffer once the call returns.
        var replacement = new Entry(record with { Payload = record.Payload.ToArray() });
        while (true)
        {
            if (!_entries.TryGetValue(key, out var current))
            {
                if (!condition.IsSatisfiedBy(null))
                {
                    return new(false);
                }

                if (_entries.TryAdd(key, replacement))
                {
                    EnforceBound();
                    return new(true);
                }

                continue;
            }

            var live = IsLive(current) ? current.Record : null;
            if (!condition.IsSatisfiedBy(live))
            {
                return new(false);
            }

            // Reference comparison: succeeds only if nobody replaced the entry since we read it.
            if (_entries.TryUpdate(key, replacement, current))
            {
                return new(true);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        cancellationToken.ThrowIfCancellationRequested();
        while (true)
        {
            if (!_entries.TryGetValue(key, out var current))
            {
                return new(false);
            }

            var live = IsLive(current);
            if (live && expectedVersion is { } v && current.Record.Version != v)
            {
                return new(false);
            }

            if (_entries.TryRemove(new KeyValuePair<string, Entry>(key, current)))
            {
                return new(live);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        cancellationToken.ThrowIfCancellationRequested();
        while (true)
        {
            if (!_entries.TryGetValue(key, out var current) || !IsLive(current))
            {
                return new(false);
            }

            var touched = new Entry(current.Record with { ExpiresAt = expiresAt });
            if (_entries.TryUpdate(key, touched, current))
            {
                return new(true);
            }
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        foreach (var pair in _entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (pair.Key.StartsWith(prefix, StringComparison.Ordinal) && IsLive(pair.Value))
            {
                yield return pair.Key;
            }
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        long purged = 0;
        foreach (var pair in _entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!IsLive(pair.Value) && _entries.TryRemove(pair))
            {
                purged++;
            }
        }

        return new(purged);
    }

    private bool TryGetLive(string key, out Entry entry)
    {
        if (_entries.TryGetValue(key, out entry!) && IsLive(entry))
        {
            return true;
        }

        entry = null!;
        return false;
    }

    private bool IsLive(Entry entry) => entry.Record.ExpiresAt > _time.GetUtcNow();

    private void EnforceBound()
    {
        if (_maxEntries is not { } max || _entries.Count <= max)
        {
            return;
        }

        lock (_evictionLock)
        {
            if (_entries.Count <= max)
            {
                return;
            }

            var now = _time.GetUtcNow();
            foreach (var pair in _entries)
            {
                if (pair.Value.Record.ExpiresAt <= now)
                {
                    _entries.TryRemove(pair);
                }
            }

            var excess = _entries.Count - max;
            if (excess <= 0)
            {
                return;
            }

            // Evict a little more than needed (1/16 of the bound) so that a full store does not sort on every write.
            var toEvict = Math.Min(_entries.Count, excess + Math.Max(1, max / 16));
            var victims = _entries.ToArray();
            Array.Sort(victims, static (a, b) => a.Value.Record.ExpiresAt.CompareTo(b.Value.Record.ExpiresAt));
            long evicted = 0;
            for (var i = 0; i < toEvict; i++)
            {
                if (_entries.TryRemove(victims[i]))
                {
                    evicted++;
                }
            }

            s_evictions.Add(evicted, s_backendTag);
        }
    }

    // A reference type so that TryUpdate/TryRemove compare by identity: a compare-and-swap on the whole entry.
    private sealed class Entry(SessionRecord record)
    {
        public SessionRecord Record { get; } = record;
    }
}
