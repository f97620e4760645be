using System.Runtime.CompilerServices;

namespace Sessions.Backends.Migration;

/// <summary>
/// A backend that moves sessions from one store (<see cref="From"/>) to another (<see cref="To"/>) while the app runs, so
/// that changing stores logs nobody out. Register it with <c>AddMigratingBackend(from, to)</c> or
/// <c>Sessions:Migration:From</c>/<c>To</c>.
/// </summary>
/// <remarks>
/// <para>Reads go to <see cref="To"/> first and fall back to <see cref="From"/>. A record found only in <see cref="From"/>
/// moves on its next conditional write: the successor is created in <see cref="To"/> only if <see cref="To"/> has nothing
/// under the key (or holds the very version that was read, as left by a bulk copy), then the read version is deleted from
/// <see cref="From"/>; if that delete finds the version gone (the session was destroyed, expired or rewritten meanwhile),
/// the write in <see cref="To"/> is undone and the write reports a conflict, so a destroyed session never comes back.
/// New records go only to <see cref="To"/>; deletes reach both stores (<see cref="From"/> first); key enumeration and
/// purges cover both. Concurrency tokens are handed back only to the store that issued them.</para>
/// <para>What it cannot close: a process that stops between writing <see cref="To"/> and deleting from <see cref="From"/>
/// leaves a copy in both (reads see the one in <see cref="To"/>; the next delete removes both), and app instances still
/// writing only to <see cref="From"/> (a rolling deployment) are outside its view: switch every instance at once.</para>
/// </remarks>
public sealed class MigratingSessionBackend :
    ISessionBackend, ISessionKeyEnumerator, IExpiredSessionPurger, ISessionBackendHealthProbe, ISessionBackendLimits,
    ISessionBackendInitializer, IAsyncDisposable, IDisposable
{
    private readonly MigrationStores _stores;
    private int _disposed;

    /// <summary>Composes two backends.</summary>
    /// <param name="from">The store sessions move out of.</param>
    /// <param name="to">The store sessions move into.</param>
    /// <param name="fromName">The name of <paramref name="from"/>, for messages (for example <c>memcached</c>).</param>
    /// <param name="toName">The name of <paramref name="to"/>, for messages (for example <c>redis</c>).</param>
    /// <exception cref="ArgumentNullException">A backend is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">Both are the same instance.</exception>
    public MigratingSessionBackend(ISessionBackend from, ISessionBackend to, string fromName = "from", string toName = "to")
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        if (ReferenceEquals(from, to))
        {
            throw new ArgumentException("The two backends of a migration must be different stores.", nameof(to));
        }

        _stores = new MigrationStores(from, to, fromName, toName);
    }

    /// <summary>The store sessions move out of.</summary>
    public ISessionBackend From => _stores.From;

    /// <summary>The store sessions move into.</summary>
    public ISessionBackend To => _stores.To;

    /// <summary>The name of <see cref="From"/>.</summary>
    public string FromName => _stores.FromName;

    /// <summary>The name of <see cref="To"/>.</summary>
    public string ToName => _stores.ToName;

    /// <summary>
    /// The smaller of the two stores' limits (<see cref="ISessionBackendLimits"/>), in bytes, since a record is written to
    /// <see cref="To"/> and may still be read from <see cref="From"/>; <see cref="int.MaxValue"/> when neither states one.
    /// </summary>
    public int MaxPayloadBytes => _stores.MaxPayloadBytes;

    /// <summary>Whether both stores can list their keys (<see cref="ISessionKeyEnumerator"/>), which <see cref="EnumerateKeysAsync"/> and a bulk copy need.</summary>
    public bool CanEnumerateKeys => _stores.CanEnumerateKeys;

    /// <summary>The name under which <c>AddMigratingBackend</c> registers the migrating backend: <c>{from}-&gt;{to}</c>.</summary>
    /// <param name="from">The name of the store sessions move out of.</param>
    /// <param name="to">The name of the store sessions move into.</param>
    /// <returns>The registration name, used in metrics, logs and health checks.</returns>
    public static string RegistrationName(string from, string to) => $"{from.Trim()}->{to.Trim()}";

    /// <inheritdoc />
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        if (await To.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } moved)
        {
            return Tag(moved, fromOld: false);
        }

        if (await From.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } old)
        {
            return Tag(old, fromOld: true);
        }

        // A racing move writes To before deleting from From: when From no longer has it, To has it by now.
        return await To.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } justMoved ? Tag(justMoved, fromOld: false) : null;
    }

    /// <inheritdoc />
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ArgumentNullException.ThrowIfNull(record);
        ThrowIfDisposed();
        var plain = record.ConcurrencyToken is null ? record : record with { ConcurrencyToken = null };
        switch (condition.Kind)
        {
            case SetConditionKind.Always:
                await To.SetAsync(key, plain, SetCondition.Always, cancellationToken).ConfigureAwait(false);
                await From.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
                return true;

            case SetConditionKind.IfAbsent:
                // Absent means absent from both: a user index, for one, has a fixed key and may still live in From.
                if (await ReadFromOrNullAsync(key, cancellationToken).ConfigureAwait(false) is not null)
                {
                    return false;
                }

                return await To.SetAsync(key, plain, SetCondition.IfAbsent, cancellationToken).ConfigureAwait(false);

            case SetConditionKind.IfVersion:
                var version = condition.ExpectedVersion;
                if (condition.ConcurrencyToken is MigrationToken { FromOld: false } toToken)
                {
                    return await To.SetAsync(key, plain, SetCondition.IfVersion(version, toToken.Inner), cancellationToken).ConfigureAwait(false)
                        && await DropStaleOldCopyAsync(key, cancellationToken).ConfigureAwait(false);
                }

                if (condition.ConcurrencyToken is not MigrationToken { FromOld: true }
                    && await To.SetAsync(key, plain, SetCondition.IfVersion(version), cancellationToken).ConfigureAwait(false))
                {
                    return await DropStaleOldCopyAsync(key, cancellationToken).ConfigureAwait(false);
                }

                return await MoveOnWriteAsync(key, plain, version, cancellationToken).ConfigureAwait(false);

            default:
                return false;
        }
    }

    /// <summary>
    /// After a write to <see cref="To"/> of a key it already held: deletes any copy still in <see cref="From"/>. A move cut
    /// short (a store frozen or a process killed between its write and its delete) leaves one; were it kept, it would be
    /// read again once the new store's record is gone, e.g. when a sign-in's short-lived "moved" tombstone expires, bringing
    /// the pre-sign-in session back. Best effort: the write already succeeded, and a copy left by a failing old store is
    /// deleted by the session's next save.
    /// </summary>
    private async ValueTask<bool> DropStaleOldCopyAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await From.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // See above: the write to the new store stands.
        }

        return true;
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        if (expectedVersion is null)
        {
            // From first: a move in flight (written to To, not yet deleted from From) then fails its delete and undoes itself.
            var old = await From.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
            var moved = await To.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
            return old || moved;
        }

        if (await To.RemoveAsync(key, expectedVersion, cancellationToken).ConfigureAwait(false))
        {
            await From.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (await To.GetAsync(key, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false; // To holds another version: the live record is that one.
        }

        if (await From.RemoveAsync(key, expectedVersion, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        // Moved meanwhile with the same version (a bulk copy)?
        return await To.RemoveAsync(key, expectedVersion, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        if (await To.TouchAsync(key, expiresAt, cancellationToken).ConfigureAwait(false)
            || await From.TouchAsync(key, expiresAt, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        return await To.TouchAsync(key, expiresAt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves one record from <see cref="From"/> to <see cref="To"/> unchanged (same payload, expiry and version), for a bulk
    /// copy: created in <see cref="To"/> only if <see cref="To"/> has nothing under the key, then deleted from
    /// <see cref="From"/> only if it still has the version copied. Idempotent: run it again after an interruption.
    /// </summary>
    /// <param name="key">The storage key.</param>
    /// <param name="cancellationToken">Cancels the move.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="SessionRecordCorruptException">What <see cref="From"/> holds under the key cannot be read.</exception>
    public async ValueTask<SessionMoveResult> MoveAsync(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        var old = await From.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (old is null)
        {
            return SessionMoveResult.NotInSource;
        }

        var copy = old with { ConcurrencyToken = null };
        if (await To.SetAsync(key, copy, SetCondition.IfAbsent, cancellationToken).ConfigureAwait(false))
        {
            if (await From.RemoveAsync(key, old.Version, cancellationToken).ConfigureAwait(false))
            {
                return SessionMoveResult.Moved;
            }

            await To.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
            return SessionMoveResult.Conflict;
        }

        // To already has the session (moved by a request, or by an earlier run): From's copy is stale; never overwrite To.
        await From.RemoveAsync(key, old.Version, cancellationToken).ConfigureAwait(false);
        return SessionMoveResult.AlreadyInTarget;
    }

    /// <summary>
    /// Lists the keys of both stores, <see cref="To"/> first, each key once. Both stores must implement
    /// <see cref="ISessionKeyEnumerator"/>. Holds the keys listed from <see cref="To"/> in memory to drop duplicates.
    /// </summary>
    /// <param name="prefix">Only keys starting with this (ordinal); empty for all.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The keys.</returns>
    /// <exception cref="NotSupportedException">A store cannot list its keys.</exception>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        await foreach (var key in _stores.EnumerateKeysAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            yield return key;
        }
    }

    /// <summary>Purges expired records in each store that purges (<see cref="IExpiredSessionPurger"/>).</summary>
    /// <param name="cancellationToken">Stops the purge.</param>
    /// <returns>The number of records deleted in both stores.</returns>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return await _stores.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks both stores, each with its own probe or with a read of a key that does not exist.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>A task that completes when both answered.</returns>
    /// <exception cref="InvalidOperationException">A store did not answer; the message names it and gives its error.</exception>
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await _stores.ProbeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the start-up work of each store that has some (<see cref="ISessionBackendInitializer"/>): <see cref="From"/>,
    /// then <see cref="To"/>. A store without it needs none.
    /// </summary>
    /// <param name="cancellationToken">Cancelled when start-up is abandoned.</param>
    /// <returns>A task that completes when both stores are ready.</returns>
    /// <exception cref="SessionStoreException">A store cannot be prepared; its message says what to set or check.</exception>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await _stores.InitializeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disposes both stores.</summary>
    /// <returns>A task that completes when both are disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stores.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Disposes both stores synchronously, for a container disposed with <c>Dispose()</c>: a store that is only
    /// <see cref="IAsyncDisposable"/> is disposed by waiting for its <c>DisposeAsync</c>. Prefer <see cref="DisposeAsync"/>.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stores.Dispose();
    }

    private async ValueTask<bool> MoveOnWriteAsync(string key, SessionRecord record, long version, CancellationToken cancellationToken)
    {
        // The read came from From (or from nowhere known): it must still be there with that version.
        var old = await ReadFromOrNullAsync(key, cancellationToken).ConfigureAwait(false);
        if (old is null || old.Version != version)
        {
            // Moved by a bulk copy with the same version? Then To's record is the one the caller read.
            return await To.SetAsync(key, record, SetCondition.IfVersion(version), cancellationToken).ConfigureAwait(false);
        }

        if (await To.SetAsync(key, record, SetCondition.IfAbsent, cancellationToken).ConfigureAwait(false))
        {
            if (await From.RemoveAsync(key, version, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            // From's version went away between our read and now: destroyed (deletes reach From first) or expired, and
            // then our record must not live on in To: undo it. Or a racing request of another instance saved on top of
            // our record in To and then dropped From's copy as stale (DropStaleOldCopyAsync): then To holds a newer
            // version, the session's live one, which an undo would delete (its later requests would find the session
            // ended). So the undo removes our own version only, and the caller resolves the conflict as usual: it finds the
            // session gone (then its changes are dropped), or the newer version (then it saves on top of that one).
            await To.RemoveAsync(key, record.Version, cancellationToken).ConfigureAwait(false);
            return false;
        }

        // To already holds the key (a racing request or a bulk copy moved it): the write stands only on the version read.
        if (await To.SetAsync(key, record, SetCondition.IfVersion(version), cancellationToken).ConfigureAwait(false))
        {
            await From.RemoveAsync(key, version, cancellationToken).ConfigureAwait(false);
            return true;
        }

        return false;
    }

    private async ValueTask<SessionRecord?> ReadFromOrNullAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await From.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (SessionRecordCorruptException)
        {
            return null; // Unreadable in From: nothing there to move or to keep.
        }
    }

    private static SessionRecord Tag(SessionRecord record, bool fromOld) =>
        record with { ConcurrencyToken = new MigrationToken(fromOld, record.ConcurrencyToken) };

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Which store a record was read from, and that store's own token for it.</summary>
    private sealed record MigrationToken(bool FromOld, object? Inner);
}
