using Sessions.Backends;
using Sessions.Diagnostics;
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
        // Without MaxSessionsPerUser, the user index's own limit (500 live sessions) is kept the same way.
        var revoked = new List<string>();
        var ownCut = await Cap.EnforceAsync(userId, key, ReplacedKey(session), boundAt, revoked, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        foreach (var cut in revoked)
        {
            Pending(session, new SessionDestroyedEvent(UserSessionIndex.HandleFor(cut), userId, SessionDestroyReason.Cap, now));
        }

        if (!ownCut || _options.MaxSessionsPerUser is null || _options.SessionLimitMode != SessionLimitMode.Refuse)
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

    /// <summary>A revocation of the user's sessions found <paramref name="count"/> live ones its index did not list (logged, 1072).</summary>
    internal void ReportRevokedUnlisted(string userId, int count) => Log.RevokedUnlisted(_logger, _keys.ForUser(userId), count);

    /// <summary>
    /// After a bound session's save or touch (the user unchanged): extends the user's index, and when
    /// <paramref name="checkIndex"/>, first makes sure it still lists the session (one more read), healing it if it does not
    /// (<see cref="UserSessionIndex.KeepMemberAsync"/>). Returns false when the session must end: a revocation of the
    /// user's sessions missed it (its index was lost); its record is then deleted.
    /// </summary>
    private async ValueTask<bool> KeepBindingAsync(SessionData session, string userId, string key, bool checkIndex, CancellationToken cancellationToken)
    {
        if (!checkIndex)
        {
            if (await _index.TouchAsync(userId, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            // The index is missing (the touch found nothing): check and heal now rather than at the next due check.
        }

        var member = new UserIndexMember(key, session.CreatedAt, session.ClientDescription);
        switch (await _index.KeepMemberAsync(userId, member, cancellationToken).ConfigureAwait(false))
        {
            case IndexMembership.Member:
                return true;
            case IndexMembership.HealedFirst:
                Log.UserIndexHealed(_logger, BackendName, _keys.ForUser(userId));
                SessionsInstrumentation.IndexHealed.Add(1, _backendTag);
                return true;
            case IndexMembership.Healed:
                SessionsInstrumentation.IndexHealed.Add(1, _backendTag);
                return true;
            default:
                Log.MissedByRevocation(_logger, _keys.ForUser(userId));
                await RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
                Pending(session, new SessionDestroyedEvent(UserSessionIndex.HandleFor(key), userId, SessionDestroyReason.Revoked, _time.GetUtcNow()));
                session.MarkDeleted();
                return false;
        }
    }

    /// <summary>
    /// Whether a save of a bound session at <paramref name="now"/> checks the user's index (one read): at most once per
    /// <see cref="SessionOptions.TouchAfter"/> window of the clock, found from the previous write's expiry, so a session
    /// saved on every request pays the read about once per TouchAfter, as a touched one does. A session whose expiry is
    /// held at its absolute deadline no longer tells when it was last written: then every save checks.
    /// </summary>
    private bool IndexCheckDue(DateTimeOffset? previousExpiry, DateTimeOffset now, DateTimeOffset? deadline)
    {
        if (previousExpiry is not { } previous || (deadline is { } d && previous >= d) || _touchAfter <= TimeSpan.Zero)
        {
            return true;
        }

        var window = _touchAfter.Ticks;
        return now.UtcTicks / window != (previous - _options.IdleTimeout).UtcTicks / window;
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
