using Microsoft.Extensions.Logging;
using Sessions.Diagnostics;

namespace Sessions.Engine;

/// <summary>
/// A session's binding to its user, called by the commit paths: the per-user cap before and after a binding is written
/// (<see cref="UserSessionCap"/>), and, on each save or touch of a bound session, keeping the user's index alive and
/// listing the session (<see cref="UserSessionIndex"/>), or ending a session a revocation missed.
/// </summary>
internal sealed class UserBinding(
    SessionOptions options, SessionKeyBuilder keys, BackendAccessor backend, UserSessionIndex index, UserSessionCap cap, LifecycleEvents events, ILogger logger)
{
    private readonly TimeSpan _touchAfter = options.EffectiveTouchAfter;

    /// <summary>The user index.</summary>
    public UserSessionIndex Index => index;

    /// <summary>Whether a binding can be refused after its write: a cap in Refuse mode.</summary>
    public bool RefusesBeyondCap => options.MaxSessionsPerUser is not null && options.SessionLimitMode == SessionLimitMode.Refuse;

    /// <summary>The refusal of a binding of <paramref name="userId"/> beyond the cap.</summary>
    public SessionLimitExceededException Exceeded(string userId) => UserSessionCap.Exceeded(userId, options.MaxSessionsPerUser!.Value);

    /// <summary>A regenerated session's old ID: still stored while the new one is written, deleted by the same commit, so not counted.</summary>
    public string? ReplacedKey(SessionData session) => session.RegeneratedFrom is { } id ? keys.ForSession(id) : null;

    /// <summary>Before a session is bound to a user: with <see cref="SessionLimitMode.Refuse"/>, a user at the cap is refused before anything is written.</summary>
    /// <exception cref="SessionLimitExceededException">The user is at the cap.</exception>
    public ValueTask BeforeBindAsync(SessionData session, string userId, string key, CancellationToken cancellationToken) =>
        options.MaxSessionsPerUser is null ? ValueTask.CompletedTask : cap.ThrowIfFullAsync(userId, key, ReplacedKey(session), cancellationToken);

    /// <summary>
    /// After a session was bound to a user and written, before it is marked stored: cuts the user's sessions beyond the cap
    /// (RevokeLeastRecentlyUsed), or decides whether this binding is refused (Refuse). Returns true when refused: the caller
    /// undoes the binding and throws.
    /// </summary>
    public async ValueTask<bool> AfterBindAsync(SessionData session, string userId, string key, DateTimeOffset boundAt, CancellationToken cancellationToken)
    {
        // Without MaxSessionsPerUser, the user index's own limit (500 live sessions) is kept the same way.
        var revoked = new List<string>();
        var ownCut = await cap.EnforceAsync(userId, key, ReplacedKey(session), boundAt, revoked, cancellationToken).ConfigureAwait(false);
        foreach (var cut in revoked)
        {
            events.OnDestroyed(session, cut, userId, SessionDestroyReason.Cap);
        }

        if (!ownCut || !RefusesBeyondCap)
        {
            // Revoke mode: a racer whose own session was cut goes on; its Destroyed(Cap) event is raised by whichever racer deleted it.
            return false;
        }

        // Refused: as if refused up front, the session was never created. The session's state stays as before the commit:
        // the app may catch the exception, unbind the user and go on.
        LifecycleEvents.ForgetCreated(session, key);
        return true;
    }

    /// <summary>
    /// After a bound session's save or touch (the user unchanged): extends the user's index, and when
    /// <paramref name="checkIndex"/>, first makes sure it still lists the session (one more read), healing it if it does not
    /// (<see cref="UserSessionIndex.KeepMemberAsync"/>). Returns false when the session must end: a revocation of the
    /// user's sessions missed it (its index was lost); its record is then deleted.
    /// </summary>
    public async ValueTask<bool> KeepAsync(SessionData session, string userId, string key, bool checkIndex, CancellationToken cancellationToken)
    {
        if (!checkIndex)
        {
            if (await index.TouchAsync(userId, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            // The index is missing (the touch found nothing): check and heal now rather than at the next due check.
        }

        var member = new UserIndexMember(key, session.CreatedAt, session.ClientDescription);
        switch (await index.KeepMemberAsync(userId, member, cancellationToken).ConfigureAwait(false))
        {
            case IndexMembership.Member:
                return true;
            case IndexMembership.HealedFirst:
                Log.UserIndexHealed(logger, backend.Name, keys.ForUser(userId));
                SessionsInstrumentation.IndexHealed.Add(1, backend.Tag);
                return true;
            case IndexMembership.Healed:
                SessionsInstrumentation.IndexHealed.Add(1, backend.Tag);
                return true;
            default:
                Log.MissedByRevocation(logger, keys.ForUser(userId));
                await backend.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
                events.OnDestroyed(session, key, userId, SessionDestroyReason.Revoked);
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
    public bool IndexCheckDue(DateTimeOffset? previousExpiry, DateTimeOffset now, DateTimeOffset? deadline)
    {
        if (previousExpiry is not { } previous || (deadline is { } d && previous >= d) || _touchAfter <= TimeSpan.Zero)
        {
            return true;
        }

        var window = _touchAfter.Ticks;
        return now.UtcTicks / window != (previous - options.IdleTimeout).UtcTicks / window;
    }
}
