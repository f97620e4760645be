using Sessions.Backends;
using Sessions.Envelope;
using Sessions.Events;

namespace Sessions.Engine;

// Lifecycle events and the per-user cap, called from the commit paths at the points where a change has been stored.
public sealed partial class SessionStore
{
    private UserSessionCap? _cap;

    /// <summary>The registered <see cref="ISessionEvents"/> handlers; none unless set by dependency injection.</summary>
    internal SessionEventDispatcher Events { get; set; } = SessionEventDispatcher.None;

    private UserSessionCap Cap => _cap ??= new UserSessionCap(this, _logger);

    /// <summary>Raises one event now (outside a commit: revocation by the manager, a purge).</summary>
    internal ValueTask RaiseAsync(SessionEvent e) => Events.Enabled ? Events.RaiseAsync(e) : ValueTask.CompletedTask;

    internal DateTimeOffset EventTime() => _time.GetUtcNow();

    /// <summary>After a purge: one <see cref="SessionExpiredEvent"/> for the records it removed, if any (stores report only how many).</summary>
    internal ValueTask RaisePurgedAsync(long purged) =>
        purged > 0 ? RaiseAsync(new SessionExpiredEvent(null, null, SessionExpiryDetection.Purged, purged, _time.GetUtcNow())) : ValueTask.CompletedTask;

    // Queues an event of this commit, raised once the commit is over (see CommitAsync).
    private void Pending(SessionData session, SessionEvent e)
    {
        if (Events.Enabled)
        {
            (session.PendingEvents ??= []).Add(e);
        }
    }

    private async ValueTask RaisePendingAsync(SessionData session)
    {
        if (session.PendingEvents is { } events)
        {
            session.PendingEvents = null;
            await Events.RaiseAsync(events).ConfigureAwait(false);
        }
    }

    // A new record was written for the session (before MarkStored, which forgets where a regenerated session came from).
    private void OnStored(SessionData session, string key)
    {
        if (!Events.Enabled)
        {
            return;
        }

        var now = _time.GetUtcNow();
        Pending(session, session.RegeneratedFrom is { } oldId && _keys.ForSession(oldId) is { } oldKey
            ? new SessionRegeneratedEvent(UserSessionIndex.HandleFor(oldKey), UserSessionIndex.HandleFor(key), session.UserId, now)
            : new SessionCreatedEvent(UserSessionIndex.HandleFor(key), session.UserId, now));
    }

    private void OnDestroyedByUser(SessionData session, string key, string? userId) =>
        Pending(session, new SessionDestroyedEvent(UserSessionIndex.HandleFor(key), userId, SessionDestroyReason.User, _time.GetUtcNow()));

    // Before a session is bound to a user: with SessionLimitMode.Refuse, a user at the cap is refused before anything is written.
    private ValueTask BeforeBindAsync(SessionData session, string userId, string key, CancellationToken cancellationToken) =>
        _options.MaxSessionsPerUser is null ? ValueTask.CompletedTask : Cap.ThrowIfFullAsync(userId, key, ReplacedKey(session), cancellationToken);

    // A regenerated session's old ID: still stored while the new one is written, deleted by the same commit, so not counted.
    private string? ReplacedKey(SessionData session) => session.RegeneratedFrom is { } id ? _keys.ForSession(id) : null;

    // After a session was bound to a user and written, before it is marked stored: cut the user's sessions beyond the cap
    // (RevokeLeastRecentlyUsed), or decide whether this binding is refused (Refuse). Returns true when refused: the caller
    // undoes the binding and throws.
    private async ValueTask<bool> AfterBindAsync(SessionData session, string userId, string key, DateTimeOffset boundAt, CancellationToken cancellationToken)
    {
        if (_options.MaxSessionsPerUser is null)
        {
            return false;
        }

        var revoked = new List<string>();
        var ownCut = await Cap.EnforceAsync(userId, key, ReplacedKey(session), boundAt, revoked, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        foreach (var cut in revoked)
        {
            Pending(session, new SessionDestroyedEvent(UserSessionIndex.HandleFor(cut), userId, SessionDestroyReason.Cap, now));
        }

        if (!ownCut || _options.SessionLimitMode != SessionLimitMode.Refuse)
        {
            // Revoke mode: a racer whose own session was cut goes on; its Destroyed(Cap) event is raised by whichever racer deleted it.
            return false;
        }

        // Refused: as if refused up front, the session was never created. The session's state stays as before the commit:
        // the app may catch the exception, unbind the user and go on.
        var handle = UserSessionIndex.HandleFor(key);
        session.PendingEvents?.RemoveAll(e => (e is SessionCreatedEvent c && c.Handle == handle) || (e is SessionRegeneratedEvent r && r.NewHandle == handle));
        return true;
    }

    // A request presented a session the store still holds but that has expired: remove it, and report it if this request did.
    private async ValueTask OnFoundExpiredAsync(string key, SessionRecord record, string? userId, CancellationToken cancellationToken)
    {
        // A regenerate's expired "moved" tombstone is no session: nothing to report.
        if (!Events.Enabled || EnvelopeCodec.IsTombstone(record.Payload.Span))
        {
            return;
        }

        if (await RemoveAsync(key, record.Version, cancellationToken).ConfigureAwait(false))
        {
            if (userId is null && _codec.TryDecode(record.Payload.Span, out var envelope))
            {
                userId = envelope.UserId;
            }

            if (userId is not null)
            {
                await _index.RemoveAsync(userId, key, cancellationToken).ConfigureAwait(false);
            }

            await Events.RaiseAsync(new SessionExpiredEvent(UserSessionIndex.HandleFor(key), userId, SessionExpiryDetection.FoundByRequest, 1, _time.GetUtcNow())).ConfigureAwait(false);
        }
    }
}
