using Microsoft.Extensions.Logging;
using Sessions.Backends;
using Sessions.Diagnostics;
using Sessions.Envelope;

namespace Sessions.Engine;

/// <summary>
/// The move of a regenerated session off its old ID: the old record is replaced by a short-lived "moved" tombstone
/// (written only if the old record is still the version the request read), and put back when the new ID cannot be
/// stored, so a failed sign-in never loses the session it started from, even when the tombstone write lands late.
/// </summary>
internal sealed class SessionRegeneration(
    SessionOptions options, BackendAccessor backend, SessionRecords records, ConflictResolver conflicts, BackgroundWork work, TimeProvider time, ILogger logger)
{
    /// <summary>How long a regenerate's tombstone lives: Sessions:MovedIdLifetime, at most the idle timeout.</summary>
    public TimeSpan MovedIdLifetime => options.MovedIdLifetime < options.IdleTimeout ? options.MovedIdLifetime : options.IdleTimeout;

    /// <summary>
    /// Writes the tombstone over <paramref name="oldKey"/>. A write another request (or app instance) landed on the old
    /// record meanwhile fails the condition, and is merged according to the mode before the data moves, never lost; a
    /// record found gone or already moved (a concurrent destroy or regenerate) is not brought back.
    /// </summary>
    /// <returns>
    /// Whether the old ID was moved (false: the session is gone for this request), and the record the tombstone replaced
    /// (to put back if the new ID cannot be stored; <see langword="null"/> for an emptied session).
    /// </returns>
    public async ValueTask<(bool Moved, SessionRecord? Replaced)> MoveAsync(SessionData session, string oldKey, CancellationToken cancellationToken)
    {
        SessionRecord? replaced = null;
        for (var attempt = 0; ; attempt++)
        {
            var version = session.StoredVersion!.Value;
            if (!session.IsEmpty)
            {
                // Kept to put back if the new ID cannot be stored after the tombstone is written (the store failed, or the
                // cap refused the binding), so a failed sign-in never loses the session it started from.
                replaced = await backend.GetAsync(oldKey, cancellationToken).ConfigureAwait(false);
            }

            var tombstone = new SessionRecord(EnvelopeCodec.TombstonePayload.ToArray(), time.GetUtcNow() + MovedIdLifetime, version + 1);
            bool moved;
            try
            {
                moved = await backend.SetAsync(oldKey, tombstone, SetCondition.IfVersion(version, session.StoredToken), cancellationToken).ConfigureAwait(false);
            }
            catch (SessionBackendException) when (replaced is not null)
            {
                // A write that timed out may still land: then the old ID would be moved to a new one that was never
                // stored. Watch for the tombstone for a while, and put the old record back over it if it turns up.
                RestoreIfTombstoneLands(oldKey, replaced, version + 1);
                throw;
            }

            if (moved)
            {
                return (true, replaced);
            }

            // In Fail mode a conflict throws at once; a session found destroyed or already moved is a lost race instead.
            if ((conflicts.Mode == ConcurrencyMode.Fail && await records.IsGoneAsync(oldKey, cancellationToken).ConfigureAwait(false))
                || !await conflicts.ResolveAsync(session, oldKey, attempt, cancellationToken).ConfigureAwait(false))
            {
                return (false, null);
            }
        }
    }

    /// <summary>
    /// After the new ID could not be stored: puts the old record back in place of its tombstone (only if the tombstone is
    /// still this commit's), so the client's old cookie keeps working, data included. Best effort.
    /// </summary>
    public async ValueTask UndoMoveAsync(SessionData session, string oldKey, SessionRecord? replaced)
    {
        if (session.StoredVersion is not { } version)
        {
            return;
        }

        try
        {
            await records.UndoWriteAsync(session, oldKey, replaced, version + 1, deleteIfNotRestored: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SessionBackendException or SessionConflictException)
        {
            Log.UndoFailed(logger, ex.Message);
        }
    }

    /// <summary>
    /// After a tombstone write failed or timed out: in the background (owned by the host, see <see cref="BackgroundWork"/>),
    /// looks for the tombstone (version <paramref name="tombstoneVersion"/>) 0.5, 1.5 and 3.5 s after, then every 2 s, for
    /// twice the moved-ID lifetime plus 5 s (25 s by default; by the store's clock), and puts <paramref name="replaced"/>
    /// back over it once it has landed. A store frozen with the write queued can apply it on its return, long after the
    /// engine gave up. Stops when the record is anything else (changed since, deleted, expired), or when the app stops.
    /// Logs 1047 if the store was still failing at the end.
    /// </summary>
    private void RestoreIfTombstoneLands(string oldKey, SessionRecord replaced, long tombstoneVersion)
    {
        var until = time.GetUtcNow() + (2 * MovedIdLifetime) + TimeSpan.FromSeconds(5);
        if (!work.Start(stopping => WatchAsync(oldKey, replaced, tombstoneVersion, until, stopping)))
        {
            Log.UndoFailed(logger, "the app is stopping, so a late move of the session's old ID is not watched for");
        }
    }

    private async Task WatchAsync(string oldKey, SessionRecord replaced, long tombstoneVersion, DateTimeOffset until, CancellationToken stopping)
    {
        string? lastFailure = null;
        for (var look = 0; ; look++)
        {
            try
            {
                await Task.Delay(look switch { 0 => TimeSpan.FromSeconds(0.5), 1 => TimeSpan.FromSeconds(1), _ => TimeSpan.FromSeconds(2) }, time, stopping).ConfigureAwait(false);
                var current = await backend.GetAsync(oldKey, stopping).ConfigureAwait(false);
                lastFailure = null;
                if (current is not null && current.Version == tombstoneVersion && EnvelopeCodec.IsTombstone(current.Payload.Span))
                {
                    // Writes through a moved ID fail their condition, so nothing can have changed it meanwhile.
                    await records.PutBackAsync(oldKey, replaced, tombstoneVersion, stopping).ConfigureAwait(false);
                    return;
                }

                if (current is null || current.Version != tombstoneVersion - 1 || EnvelopeCodec.IsTombstone(current.Payload.Span))
                {
                    return; // deleted, expired or changed since: the write cannot land any more, or something else won
                }
            }
            catch (SessionBackendException ex)
            {
                lastFailure = ex.Message;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                Log.UndoFailed(logger, "the app stopped while a late move of the session's old ID was watched for");
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The backend was disposed (the app is stopping), or something else no retry will mend.
                Log.UndoFailed(logger, ex.Message);
                return;
            }

            if (time.GetUtcNow() >= until)
            {
                break;
            }
        }

        if (lastFailure is not null)
        {
            Log.UndoFailed(logger, lastFailure);
        }
    }
}
