using Microsoft.Extensions.Logging;
using Sessions.Backends;
using Sessions.Diagnostics;

namespace Sessions.Engine;

/// <summary>
/// The commit state machine: writes what changed in a session at the end of a request (creates, saves, touches, moves or
/// deletes its record) with the configured concurrency mode. The regenerate's move, conflicts and the user binding are
/// its collaborators'; this class decides what to write and in which order (the engine queues commits of one session).
/// </summary>
internal sealed class SessionCommit(
    SessionOptions options,
    SessionKeyBuilder keys,
    BackendAccessor backend,
    SessionRecords records,
    LifecycleEvents events,
    UserBinding binding,
    ConflictResolver conflicts,
    SessionRegeneration regeneration,
    TimeProvider time,
    ILogger logger)
{
    private readonly TimeSpan _touchAfter = options.EffectiveTouchAfter;

    private UserSessionIndex Index => binding.Index;

    /// <summary>Writes what changed in <paramref name="session"/> (the caller holds its commit lock).</summary>
    public async ValueTask<SessionCommitResult> WriteAsync(SessionData session, CancellationToken cancellationToken)
    {
        var deleted = false;
        foreach (var (id, userId) in session.IdsToDelete)
        {
            var key = KeyFor(id);
            if (await backend.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false))
            {
                events.OnDestroyed(session, key, userId, SessionDestroyReason.User);
            }

            if (userId is not null)
            {
                await Index.RemoveAsync(userId, key, cancellationToken).ConfigureAwait(false);
            }

            deleted = true;
        }

        if (!session.IsModified)
        {
            if (deleted)
            {
                session.MarkDeleted();
                return new(SessionCommitOutcome.Deleted, null);
            }

            return await UnchangedAsync(session, cancellationToken).ConfigureAwait(false);
        }

        if (session.RegeneratedFrom is not null)
        {
            return await CommitRegeneratedAsync(session, cancellationToken).ConfigureAwait(false);
        }

        if (session.StoredVersion is null)
        {
            if (session.IsEmpty)
            {
                session.MarkDeleted();
                return new(deleted ? SessionCommitOutcome.Deleted : SessionCommitOutcome.Unchanged, null);
            }

            return await CreateAsync(session, cancellationToken).ConfigureAwait(false);
        }

        return await UpdateAsync(session, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Nothing to write: a new session stays unstored, a stored one is touched when due.</summary>
    public ValueTask<SessionCommitResult> UnchangedAsync(SessionData session, CancellationToken cancellationToken) =>
        session.StoredVersion is null ? new(new SessionCommitResult(SessionCommitOutcome.Unchanged, null)) : TouchIfDueAsync(session, cancellationToken);

    private DateTimeOffset ExpiryFor(SessionData session, DateTimeOffset now)
    {
        var idle = now + options.IdleTimeout;
        return session.AbsoluteDeadline is { } deadline && deadline < idle ? deadline : idle;
    }

    private string KeyFor(string sessionId) =>
        keys.ForSession(sessionId) ?? throw new InvalidOperationException("The session ID cannot form a storage key; with HashIdsAtRest off, IDs must be printable ASCII and short enough for a 250-byte key.");

    // The key of the stored record, as computed when it was loaded or last stored (hashing the ID again costs a SHA-256).
    private string StoredKeyFor(SessionData session) => session.StoredKey ?? KeyFor(session.StoredId!);

    private async ValueTask<SessionCommitResult> TouchIfDueAsync(SessionData session, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var expiresAt = ExpiryFor(session, now);
        if (expiresAt <= now || expiresAt - session.StoredExpiresAt!.Value < _touchAfter || (expiresAt == session.StoredExpiresAt && _touchAfter == TimeSpan.Zero))
        {
            return new(SessionCommitOutcome.Unchanged, session.StoredExpiresAt);
        }

        var key = StoredKeyFor(session);
        if (await backend.TouchAsync(key, expiresAt, cancellationToken).ConfigureAwait(false))
        {
            // A touch is unconditional, so it also succeeds on a regenerate's tombstone (a sign-in that ran since this
            // request loaded). A persistent session's touch re-sends the cookie, which would replace the sign-in's new one:
            // check that the record is still the session first (one read, at most once per TouchAfter).
            if (session.IsPersistent && await records.IsGoneAsync(key, cancellationToken).ConfigureAwait(false))
            {
                return await GoneAsync(session, key, cancellationToken).ConfigureAwait(false);
            }

            session.MarkTouched(expiresAt);
            if (session.UserId is { } user && !await binding.KeepAsync(session, user, key, checkIndex: true, cancellationToken).ConfigureAwait(false))
            {
                return new(SessionCommitOutcome.Gone, null);
            }

            return new(SessionCommitOutcome.Touched, expiresAt);
        }

        return await GoneAsync(session, key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores a new session (or a regenerated one under its new ID). When the commit of a signed-in or regenerated session
    /// fails after it began writing (the store failed or timed out, or the cap refused the binding), it undoes what it may
    /// have written, best effort: the new ID's record (no client holds that ID yet) and its index entry.
    /// </summary>
    private async ValueTask<SessionCommitResult> CreateAsync(SessionData session, CancellationToken cancellationToken)
    {
        const int Attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var now = time.GetUtcNow();
            var expiresAt = ExpiryFor(session, now);
            var record = new SessionRecord(records.Encode(session), expiresAt, 1);
            var key = KeyFor(session.Id);

            // Index first: the index may list a session that failed to save (pruned when read), never miss one that exists.
            // A regenerated session of the same user takes its old ID's place in the index, so it keeps its rank.
            var boundAt = now;
            var user = session.UserId;
            var replacing = user is not null && string.Equals(session.StoredUserId, user, StringComparison.Ordinal) ? binding.ReplacedKey(session) : null;
            if (user is not null)
            {
                await binding.BeforeBindAsync(session, user, key, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                if (user is not null)
                {
                    boundAt = time.GetUtcNow();
                    await Index.AddAsync(user, new UserIndexMember(key, session.CreatedAt, session.ClientDescription, boundAt), cancellationToken, replacing).ConfigureAwait(false);
                }

                if (await backend.SetAsync(key, record, SetCondition.IfAbsent, cancellationToken).ConfigureAwait(false))
                {
                    events.OnStored(session, key);
                    if (user is not null && await binding.AfterBindAsync(session, user, key, boundAt, cancellationToken).ConfigureAwait(false))
                    {
                        // Refused by the cap (Refuse mode): as if refused up front (the catch below undoes the writes).
                        throw binding.Exceeded(user);
                    }

                    session.MarkStored(1, expiresAt, key);
                    return new(SessionCommitOutcome.Created, expiresAt);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException && (user is not null || session.RegeneratedFrom is not null))
            {
                // An anonymous new session that failed is left alone: no client holds its ID and nothing counts it, so a
                // record that landed anyway only waits for its expiry, and a failing store is not asked again.
                await UndoCreateAsync(session, user, key, replacing).ConfigureAwait(false);
                throw;
            }

            Log.IdCollision(logger);
            if (attempt == Attempts)
            {
                throw new SessionException($"Could not store a new session: {Attempts} freshly generated IDs were all taken. The ID generator is not producing random IDs.");
            }

            session.ReplaceNewId();
        }
    }

    /// <summary>
    /// After a failed create: removes the new ID's record (a write that timed out may still have landed) and its index
    /// entry (a same-user regenerate's old ID gets its place back), and forgets the events of the create. Best effort:
    /// a store that still fails leaves a record no client holds (it expires) and an index entry (pruned when read).
    /// </summary>
    private async ValueTask UndoCreateAsync(SessionData session, string? user, string key, string? replacing)
    {
        LifecycleEvents.ForgetCreated(session, key);
        try
        {
            // Not the request's token: an aborted request still cleans up, and each call is bounded by OperationTimeout.
            await backend.RemoveAsync(key, null, CancellationToken.None).ConfigureAwait(false);
            if (user is null)
            {
                return;
            }

            if (replacing is not null)
            {
                await Index.ReplaceAsync(user, key, new UserIndexMember(replacing, session.CreatedAt, session.ClientDescription, time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await Index.RemoveAsync(user, key, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SessionBackendException or SessionConflictException)
        {
            Log.UndoFailed(logger, ex.Message);
        }
    }

    private async ValueTask<SessionCommitResult> UpdateAsync(SessionData session, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var key = StoredKeyFor(session);
            var now = time.GetUtcNow();
            var expiresAt = ExpiryFor(session, now);
            var version = session.StoredVersion!.Value;
            var storedUser = session.StoredUserId;
            if (session.IsEmpty || expiresAt <= now)
            {
                if (await backend.RemoveAsync(key, version, cancellationToken).ConfigureAwait(false))
                {
                    if (session.IsEmpty)
                    {
                        events.OnDestroyed(session, key, storedUser, SessionDestroyReason.User);
                    }

                    if (storedUser is not null)
                    {
                        await Index.RemoveAsync(storedUser, key, cancellationToken).ConfigureAwait(false);
                    }

                    session.MarkDeleted();
                    return new(SessionCommitOutcome.Deleted, null);
                }
            }
            else
            {
                var record = new SessionRecord(records.Encode(session), expiresAt, version + 1);
                var user = session.UserId;
                var userChanged = !string.Equals(user, storedUser, StringComparison.Ordinal);
                var boundAt = now;
                SessionRecord? before = null;
                if (user is not null && userChanged)
                {
                    await binding.BeforeBindAsync(session, user, key, cancellationToken).ConfigureAwait(false);
                    if (binding.RefusesBeyondCap)
                    {
                        // Kept to put back if the cap refuses this binding after the write.
                        before = await backend.GetAsync(key, cancellationToken).ConfigureAwait(false);
                    }

                    boundAt = time.GetUtcNow();
                    await Index.AddAsync(user, new UserIndexMember(key, session.CreatedAt, session.ClientDescription, boundAt), cancellationToken).ConfigureAwait(false);
                }

                var previousExpiry = session.StoredExpiresAt;
                if (await backend.SetAsync(key, record, SetCondition.IfVersion(version, session.StoredToken), cancellationToken).ConfigureAwait(false))
                {
                    if (user is not null && userChanged && await binding.AfterBindAsync(session, user, key, boundAt, cancellationToken).ConfigureAwait(false))
                    {
                        // Refused by the cap (Refuse mode): the record goes back to what it was before this binding.
                        await records.UndoWriteAsync(session, key, before, version + 1, deleteIfNotRestored: true, cancellationToken).ConfigureAwait(false);
                        await Index.RemoveAsync(user, key, cancellationToken).ConfigureAwait(false);
                        throw binding.Exceeded(user);
                    }

                    session.MarkStored(version + 1, expiresAt, key);
                    if (storedUser is not null && userChanged)
                    {
                        await Index.RemoveAsync(storedUser, key, cancellationToken).ConfigureAwait(false);
                    }
                    else if (user is not null && !userChanged
                        && !await binding.KeepAsync(session, user, key, binding.IndexCheckDue(previousExpiry, now, session.AbsoluteDeadline), cancellationToken).ConfigureAwait(false))
                    {
                        return new(SessionCommitOutcome.Gone, null);
                    }

                    return new(SessionCommitOutcome.Saved, expiresAt);
                }
            }

            if (!await conflicts.ResolveAsync(session, key, attempt, cancellationToken).ConfigureAwait(false))
            {
                return await GoneAsync(session, key, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<SessionCommitResult> CommitRegeneratedAsync(SessionData session, CancellationToken cancellationToken)
    {
        // The old record is replaced by a short-lived "moved" tombstone (SessionRegeneration). The tombstone comes first:
        // once it is written, every later write through the old ID fails its condition and sees the session moved.
        var oldKey = KeyFor(session.RegeneratedFrom!);

        // A sign-in refused by the per-user cap must leave the old session as it was: check before the tombstone.
        if (session.UserId is { } userId)
        {
            await binding.BeforeBindAsync(session, userId, KeyFor(session.Id), cancellationToken).ConfigureAwait(false);
        }

        var (moved, replaced) = await regeneration.MoveAsync(session, oldKey, cancellationToken).ConfigureAwait(false);
        if (!moved)
        {
            return await GoneAsync(session, oldKey, cancellationToken).ConfigureAwait(false);
        }

        // The old ID leaves the user's index once the new one is stored, except when the same user stays bound: then the
        // new ID takes its place there.
        var oldUser = session.StoredUserId;
        var leavesIndex = oldUser is not null && (session.IsEmpty || !string.Equals(oldUser, session.UserId, StringComparison.Ordinal));
        if (session.IsEmpty)
        {
            if (leavesIndex)
            {
                await Index.RemoveAsync(oldUser!, oldKey, cancellationToken).ConfigureAwait(false);
            }

            session.MarkDeleted();
            return new(SessionCommitOutcome.Deleted, null);
        }

        SessionCommitResult created;
        try
        {
            created = await CreateAsync(session, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await regeneration.UndoMoveAsync(session, oldKey, replaced).ConfigureAwait(false);
            throw;
        }

        if (leavesIndex)
        {
            await Index.RemoveAsync(oldUser!, oldKey, cancellationToken).ConfigureAwait(false);
        }

        return created;
    }

    /// <summary>The session was deleted by someone else: drop this request's changes and the index entry, recreate nothing.</summary>
    private async ValueTask<SessionCommitResult> GoneAsync(SessionData session, string key, CancellationToken cancellationToken)
    {
        Log.SessionGone(logger);
        var user = session.StoredUserId;
        session.MarkDeleted();
        if (user is not null)
        {
            await Index.RemoveAsync(user, key, cancellationToken).ConfigureAwait(false);
        }

        return new(SessionCommitOutcome.Gone, null);
    }
}
