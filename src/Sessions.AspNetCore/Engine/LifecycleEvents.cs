using Sessions.Events;

namespace Sessions.Engine;

/// <summary>
/// The lifecycle events the engine raises (<see cref="ISessionEvents"/>): those of a commit are queued on the session and
/// raised once the commit is over; those outside a commit (a revocation by the manager, a purge) at once. Costs nothing
/// when no handler is registered.
/// </summary>
internal sealed class LifecycleEvents(SessionKeyBuilder keys, TimeProvider time)
{
    /// <summary>The registered handlers; none unless set by dependency injection.</summary>
    public SessionEventDispatcher Dispatcher { get; set; } = SessionEventDispatcher.None;

    /// <summary>Whether any handler is registered.</summary>
    public bool Enabled => Dispatcher.Enabled;

    /// <summary>The time an event happens at (the engine's clock).</summary>
    public DateTimeOffset Now() => time.GetUtcNow();

    /// <summary>Raises one event now (outside a commit).</summary>
    public ValueTask RaiseAsync(SessionEvent e) => Dispatcher.Enabled ? Dispatcher.RaiseAsync(e) : ValueTask.CompletedTask;

    /// <summary>Raises a revocation of the session stored under <paramref name="key"/> now.</summary>
    public ValueTask RaiseRevokedAsync(string key, string? userId) =>
        Dispatcher.Enabled ? Dispatcher.RaiseAsync(new SessionDestroyedEvent(UserSessionIndex.HandleFor(key), userId, SessionDestroyReason.Revoked, Now())) : ValueTask.CompletedTask;

    /// <summary>After a purge: one <see cref="SessionExpiredEvent"/> for the records it removed, if any (stores report only how many).</summary>
    public ValueTask RaisePurgedAsync(long purged) =>
        purged > 0 ? RaiseAsync(new SessionExpiredEvent(null, null, SessionExpiryDetection.Purged, purged, Now())) : ValueTask.CompletedTask;

    /// <summary>Raises the events the commit of <paramref name="session"/> queued.</summary>
    public async ValueTask RaisePendingAsync(SessionData session)
    {
        if (session.PendingEvents is { } events)
        {
            session.PendingEvents = null;
            await Dispatcher.RaiseAsync(events).ConfigureAwait(false);
        }
    }

    /// <summary>Queues an event of the running commit of <paramref name="session"/>.</summary>
    public void Pending(SessionData session, SessionEvent e)
    {
        if (Dispatcher.Enabled)
        {
            (session.PendingEvents ??= []).Add(e);
        }
    }

    /// <summary>A new record was written for the session (before MarkStored, which forgets where a regenerated session came from).</summary>
    public void OnStored(SessionData session, string key)
    {
        if (!Dispatcher.Enabled)
        {
            return;
        }

        var now = Now();
        Pending(session, session.RegeneratedFrom is { } oldId && keys.ForSession(oldId) is { } oldKey
            ? new SessionRegeneratedEvent(UserSessionIndex.HandleFor(oldKey), UserSessionIndex.HandleFor(key), session.UserId, now)
            : new SessionCreatedEvent(UserSessionIndex.HandleFor(key), session.UserId, now));
    }

    /// <summary>The commit ended the session stored under <paramref name="key"/>, for <paramref name="reason"/>.</summary>
    public void OnDestroyed(SessionData session, string key, string? userId, SessionDestroyReason reason)
    {
        if (Dispatcher.Enabled)
        {
            Pending(session, new SessionDestroyedEvent(UserSessionIndex.HandleFor(key), userId, reason, Now()));
        }
    }

    /// <summary>Forgets the queued creation of the session under <paramref name="key"/>: it was undone, or refused.</summary>
    public static void ForgetCreated(SessionData session, string key)
    {
        if (session.PendingEvents is not { } events)
        {
            return;
        }

        var handle = UserSessionIndex.HandleFor(key);
        events.RemoveAll(e => (e is SessionCreatedEvent c && c.Handle == handle) || (e is SessionRegeneratedEvent r && r.NewHandle == handle));
    }
}
