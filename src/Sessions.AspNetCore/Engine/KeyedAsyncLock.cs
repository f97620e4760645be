using System.Collections.Concurrent;

namespace Sessions.Engine;

/// <summary>
/// One asynchronous mutex per key, for this process: commits of the same session queue here instead of racing each
/// other to the store (where all but one would conflict and retry). An entry exists only while someone holds or waits
/// for its key, so the table never grows beyond the sessions being committed at that moment.
/// </summary>
internal sealed class KeyedAsyncLock
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>How many keys are held or awaited right now (0 when idle: entries are removed when unused).</summary>
    public int Count => _entries.Count;

    /// <summary>Waits until this caller holds <paramref name="key"/>; dispose the result to release it.</summary>
    /// <param name="key">The key (a session's storage key).</param>
    /// <param name="cancellationToken">Cancels the wait; the key is then not held.</param>
    /// <returns>The held lock.</returns>
    public async ValueTask<Releaser> AcquireAsync(string key, CancellationToken cancellationToken)
    {
        Entry entry;
        while (true)
        {
            entry = _entries.GetOrAdd(key, static _ => new Entry());
            lock (entry)
            {
                if (!entry.Removed)
                {
                    entry.Users++;
                    break;
                }
            }
        }

        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Leave(key, entry);
            throw;
        }

        return new Releaser(this, key, entry);
    }

    private void Leave(string key, Entry entry)
    {
        lock (entry)
        {
            if (--entry.Users == 0)
            {
                entry.Removed = true;
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }
    }

    /// <summary>Releases a held key when disposed.</summary>
    internal readonly struct Releaser : IDisposable
    {
        private readonly KeyedAsyncLock? _owner;
        private readonly string _key;
        private readonly Entry _entry;

        internal Releaser(KeyedAsyncLock owner, string key, Entry entry)
        {
            _owner = owner;
            _key = key;
            _entry = entry;
        }

        /// <summary>Releases the key; the next waiter, if any, gets it.</summary>
        public void Dispose()
        {
            if (_owner is null)
            {
                return;
            }

            _entry.Semaphore.Release();
            _owner.Leave(_key, _entry);
        }
    }

    internal sealed class Entry
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }

        public bool Removed { get; set; }
    }
}
