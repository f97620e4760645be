using Sessions.Backends;
using Sessions.Backends.Migration;
using Sessions.Engine;
using Sessions.Management;

namespace Sessions.Tool;

/// <summary>One stored session as the tool shows it. Never holds a session ID.</summary>
internal sealed record SessionRow(
    string Handle,
    string? Key,
    string? UserId,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? AbsoluteDeadline,
    bool IsPersistent,
    long Version,
    int PayloadBytes,
    IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? Values);

/// <summary>What <c>copy</c> did, by record.</summary>
internal sealed class CopyCounts
{
    /// <summary>Keys seen in the source.</summary>
    public long Seen { get; set; }

    /// <summary>Records written to a target that had none.</summary>
    public long Copied { get; set; }

    /// <summary>Records written over an older version in the target.</summary>
    public long Updated { get; set; }

    /// <summary>User index records merged with the target's index for the same user.</summary>
    public long Merged { get; set; }

    /// <summary>Records the target already had at the same version (copied by an earlier run, or by the migrating backend).</summary>
    public long UpToDate { get; set; }

    /// <summary>Records the target had at a newer version: left alone (a copy never overwrites a newer record).</summary>
    public long NewerInTarget { get; set; }

    /// <summary>Keys whose record expired or was deleted in the source before it was read.</summary>
    public long Gone { get; set; }

    /// <summary>With <c>--move</c>: records that changed in the source during their move, left for the next run.</summary>
    public long Conflicts { get; set; }
}

/// <summary>The store-level work of the commands, without any output.</summary>
internal static class Operations
{
    /// <summary>Keys of the live records under the app's prefix: sessions and user indexes.</summary>
    public static IAsyncEnumerable<string> EnumerateKeysAsync(ISessionBackend backend, string backendName, string prefix, CancellationToken cancellationToken) =>
        backend is MigratingSessionBackend migration
            ? EnumerateMigrationKeysAsync(migration, prefix, cancellationToken)
            : backend is ISessionKeyEnumerator enumerator
            ? enumerator.EnumerateKeysAsync(prefix, cancellationToken)
            : backend is Sessions.Memcached.MemcachedSessionBackend memcached
            ? MemcachedKeyLister.EnumerateKeysAsync(memcached, prefix, cancellationToken)
            : throw new ToolException(
                ExitCodes.Unsupported,
                $"The '{backendName}' backend cannot list its keys (it does not implement ISessionKeyEnumerator), so this command cannot run on it. " +
                "show <id>, revoke --user and revoke --user U <handle> still work; to move sessions off it, use the migrating backend (see \"Changing stores\" in the README).");

    // A migration's keys: each store listed the way the tool lists it alone (so a memcached store works too), the new
    // store first, each key once.
    private static async IAsyncEnumerable<string> EnumerateMigrationKeysAsync(MigratingSessionBackend migration, string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in EnumerateKeysAsync(migration.To, migration.ToName, prefix, cancellationToken).ConfigureAwait(false))
        {
            if (seen.Add(key))
            {
                yield return key;
            }
        }

        await foreach (var key in EnumerateKeysAsync(migration.From, migration.FromName, prefix, cancellationToken).ConfigureAwait(false))
        {
            if (seen.Add(key))
            {
                yield return key;
            }
        }
    }

    /// <summary>The sorted keys of the sessions (user index records left out).</summary>
    public static async Task<List<string>> SessionKeysAsync(ISessionBackend backend, string backendName, string prefix, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var key in EnumerateKeysAsync(backend, backendName, prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!SessionRecordInspector.IsUserIndexKey(key, prefix))
            {
                keys.Add(key);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    /// <summary>Reads and decodes one session; <see langword="null"/> when it is gone or expired, a row without user for an unreadable record.</summary>
    public static async Task<SessionRow?> ReadAsync(ISessionBackend backend, string key, bool showKey, DateTimeOffset now, CancellationToken cancellationToken)
    {
        SessionRecord? record;
        try
        {
            record = await backend.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (SessionRecordCorruptException)
        {
            return new SessionRow(SessionRecordInspector.HandleFor(key), showKey ? key : null, null, default, default, null, false, 0, -1, null);
        }

        if (record is null || record.ExpiresAt <= now)
        {
            return null;
        }

        if (!SessionRecordInspector.TryDescribe(record.Payload.Span, out var description))
        {
            return new SessionRow(SessionRecordInspector.HandleFor(key), showKey ? key : null, null, default, record.ExpiresAt, null, false, record.Version, -1, null);
        }

        return new SessionRow(
            SessionRecordInspector.HandleFor(key),
            showKey ? key : null,
            description.UserId,
            description.CreatedAt,
            description.AbsoluteDeadline is { } deadline && deadline < record.ExpiresAt ? deadline : record.ExpiresAt,
            description.AbsoluteDeadline,
            description.IsPersistent,
            record.Version,
            record.Payload.Length,
            description.Values);
    }

    /// <summary>Finds the key of a session given its ID (formed into a key) or its handle (searched among the keys).</summary>
    public static async Task<string?> FindKeyAsync(SessionStore store, string idOrHandle, CancellationToken cancellationToken)
    {
        if (store.Keys.ForSession(idOrHandle) is { } key && await store.Backend.GetAsync(key, cancellationToken).ConfigureAwait(false) is not null)
        {
            return key;
        }

        await foreach (var candidate in EnumerateKeysAsync(store.Backend, store.BackendName, store.Options.KeyPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (!SessionRecordInspector.IsUserIndexKey(candidate, store.Options.KeyPrefix)
                && string.Equals(SessionRecordInspector.HandleFor(candidate), idOrHandle, StringComparison.Ordinal))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Copies every live record under <paramref name="prefix"/> from <paramref name="source"/> to <paramref name="target"/>,
    /// conditionally: a record is written only where the target has none or an older version (never over a newer one), and
    /// user indexes are merged. Running it again after an interruption picks up where it stopped (what is there is skipped).
    /// </summary>
    public static async Task<CopyCounts> CopyAsync(
        ISessionBackend source,
        string sourceName,
        ISessionBackend target,
        string targetName,
        string prefix,
        TimeProvider time,
        long? limit,
        bool move,
        Action<CopyCounts>? progress,
        CancellationToken cancellationToken)
    {
        var counts = new CopyCounts();

        // The listing needs the source's own type (memcached's keys come from its servers); record calls go through
        // NamedBackend, so that a failure says which of the two stores failed.
        var keys = StoreFailedException.Attribute(EnumerateKeysAsync(source, sourceName, prefix, cancellationToken), sourceName, cancellationToken);
        source = new NamedBackend(source, sourceName);
        target = new NamedBackend(target, targetName);
        var mover = move ? new MigratingSessionBackend(source, target, sourceName, targetName) : null;
        await foreach (var key in keys.ConfigureAwait(false))
        {
            if (limit is { } max && counts.Seen >= max)
            {
                break;
            }

            counts.Seen++;
            var isIndex = SessionRecordInspector.IsUserIndexKey(key, prefix);
            if (mover is not null && !isIndex)
            {
                await MoveOneAsync(mover, key, counts, cancellationToken).ConfigureAwait(false);
                progress?.Invoke(counts);
                continue;
            }

            await CopyOneAsync(source, target, key, isIndex, time, counts, cancellationToken).ConfigureAwait(false);
            progress?.Invoke(counts);
        }

        return counts;
    }

    // The migrating backend's move: created in the target only if absent there, deleted from the source only if unchanged,
    // so a session destroyed (in both stores) while it is being moved never comes back.
    private static async Task MoveOneAsync(MigratingSessionBackend mover, string key, CopyCounts counts, CancellationToken cancellationToken)
    {
        SessionMoveResult result;
        try
        {
            result = await mover.MoveAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (SessionRecordCorruptException)
        {
            result = SessionMoveResult.NotInSource;
        }

        switch (result)
        {
            case SessionMoveResult.Moved:
                counts.Copied++;
                break;
            case SessionMoveResult.AlreadyInTarget:
                counts.UpToDate++;
                break;
            case SessionMoveResult.Conflict:
                counts.Conflicts++;
                break;
            default:
                counts.Gone++;
                break;
        }
    }

    private static async Task CopyOneAsync(ISessionBackend source, ISessionBackend target, string key, bool isIndex, TimeProvider time, CopyCounts counts, CancellationToken cancellationToken)
    {
        SessionRecord? from;
        try
        {
            from = await source.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (SessionRecordCorruptException)
        {
            from = null;
        }

        if (from is null || from.ExpiresAt <= time.GetUtcNow())
        {
            counts.Gone++;
            return;
        }

        // A few rounds: a write refused because the target changed between our read and our write is re-decided on its new state.
        for (var attempt = 0; attempt < 8; attempt++)
        {
            SessionRecord? to;
            try
            {
                to = await target.GetAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (SessionRecordCorruptException)
            {
                to = null; // Unreadable in the target: replaced only if absent, so the conditional write below decides.
            }

            if (to is null)
            {
                if (await target.SetAsync(key, new SessionRecord(from.Payload, from.ExpiresAt, from.Version), SetCondition.IfAbsent, cancellationToken).ConfigureAwait(false))
                {
                    counts.Copied++;
                    return;
                }

                continue;
            }

            if (isIndex)
            {
                var merged = SessionRecordInspector.MergeUserIndexes(to.Payload.Span, from.Payload.Span);
                if (merged.AsSpan().SequenceEqual(SessionRecordInspector.MergeUserIndexes(to.Payload.Span, [])))
                {
                    counts.UpToDate++;
                    return;
                }

                var expiresAt = to.ExpiresAt > from.ExpiresAt ? to.ExpiresAt : from.ExpiresAt;
                if (await target.SetAsync(key, new SessionRecord(merged, expiresAt, to.Version + 1), SetCondition.IfVersion(to.Version, to.ConcurrencyToken), cancellationToken).ConfigureAwait(false))
                {
                    counts.Merged++;
                    return;
                }

                continue;
            }

            if (to.Version == from.Version)
            {
                counts.UpToDate++;
                return;
            }

            if (to.Version > from.Version)
            {
                counts.NewerInTarget++;
                return;
            }

            if (await target.SetAsync(key, new SessionRecord(from.Payload, from.ExpiresAt, from.Version), SetCondition.IfVersion(to.Version, to.ConcurrencyToken), cancellationToken).ConfigureAwait(false))
            {
                counts.Updated++;
                return;
            }
        }

        throw new ToolException(ExitCodes.Store, $"The record under {key} kept changing in the target during the copy (8 conditional writes refused in a row). Run the copy again.");
    }
}
