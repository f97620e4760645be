namespace Sessions;

/// <summary>
/// Receives session lifecycle events, for audit logs and for freeing per-session resources. Register any number with
/// <c>AddSessionEvents&lt;T&gt;()</c> (or as <c>ISessionEvents</c> singletons); each method has an empty default, so a
/// handler implements only what it needs.
/// </summary>
/// <remarks>
/// Events are raised after the change is committed to the store, exactly once per cause (of several requests or app
/// instances racing to end one session, only the one whose delete succeeded raises it), and in the order the changes
/// happened. Handlers run one after another, in registration order, before the response is sent: queue slow work
/// (a remote audit service) instead of doing it inline. A handler that throws is logged (event 1043) and the other
/// handlers and the request go on as if it had not: a handler can never change a response.
/// </remarks>
public interface ISessionEvents
{
    /// <summary>A new session was stored (its first commit with data or a user).</summary>
    /// <param name="e">The event.</param>
    /// <returns>A task that completes when the handler is done.</returns>
    ValueTask OnCreatedAsync(SessionCreatedEvent e) => ValueTask.CompletedTask;

    /// <summary>A session got a new ID (<c>Regenerate()</c>, usually on sign-in); the old ID no longer works.</summary>
    /// <param name="e">The event.</param>
    /// <returns>A task that completes when the handler is done.</returns>
    ValueTask OnRegeneratedAsync(SessionRegeneratedEvent e) => ValueTask.CompletedTask;

    /// <summary>A session was deleted: by its user, by revocation through <see cref="ISessionManager"/>, or by the per-user cap.</summary>
    /// <param name="e">The event.</param>
    /// <returns>A task that completes when the handler is done.</returns>
    ValueTask OnDestroyedAsync(SessionDestroyedEvent e) => ValueTask.CompletedTask;

    /// <summary>
    /// Sessions were found expired: by a request that presented an expired session still in the store (the request
    /// removes it), or by the purge of backends without native expiry. A store that drops expired records itself
    /// (Redis, Memcached, DynamoDB TTL) does so silently; such expiries cannot be known and raise nothing.
    /// </summary>
    /// <param name="e">The event.</param>
    /// <returns>A task that completes when the handler is done.</returns>
    ValueTask OnExpiredAsync(SessionExpiredEvent e) => ValueTask.CompletedTask;
}

/// <summary>The base of the session lifecycle events.</summary>
/// <param name="OccurredAt">When the change was committed, on the app's <see cref="TimeProvider"/>.</param>
public abstract record SessionEvent(DateTimeOffset OccurredAt);

/// <summary>A new session was stored.</summary>
/// <param name="Handle">The session's handle, as <see cref="ISessionManager.GetHandle"/> gives it (not secret; never the session ID).</param>
/// <param name="UserId">The user it is bound to, if any.</param>
/// <param name="OccurredAt">When it was stored.</param>
public sealed record SessionCreatedEvent(string Handle, string? UserId, DateTimeOffset OccurredAt) : SessionEvent(OccurredAt);

/// <summary>A session moved to a new ID, keeping its data.</summary>
/// <param name="OldHandle">The handle of the retired ID.</param>
/// <param name="NewHandle">The handle of the new ID.</param>
/// <param name="UserId">The user the session is bound to after the move, if any.</param>
/// <param name="OccurredAt">When the move was committed.</param>
public sealed record SessionRegeneratedEvent(string OldHandle, string NewHandle, string? UserId, DateTimeOffset OccurredAt) : SessionEvent(OccurredAt);

/// <summary>A session was deleted before it expired.</summary>
/// <param name="Handle">The session's handle.</param>
/// <param name="UserId">The user it was bound to, when known.</param>
/// <param name="Reason">Who ended it.</param>
/// <param name="OccurredAt">When it was deleted.</param>
public sealed record SessionDestroyedEvent(string Handle, string? UserId, SessionDestroyReason Reason, DateTimeOffset OccurredAt) : SessionEvent(OccurredAt);

/// <summary>Sessions were found expired.</summary>
/// <param name="Handle">The session's handle when a request found it; <see langword="null"/> for a purge (stores report only how many they purged).</param>
/// <param name="UserId">The user it was bound to, when a request found it and could read it.</param>
/// <param name="Detection">How the expiry was found.</param>
/// <param name="Count">How many sessions: 1 when a request found it, the number purged otherwise.</param>
/// <param name="OccurredAt">When the expired sessions were removed.</param>
public sealed record SessionExpiredEvent(string? Handle, string? UserId, SessionExpiryDetection Detection, long Count, DateTimeOffset OccurredAt) : SessionEvent(OccurredAt);

/// <summary>Who ended a session.</summary>
public enum SessionDestroyReason
{
    /// <summary>The session's own request: <c>Destroy()</c> (sign-out), or emptying the session.</summary>
    User = 0,

    /// <summary>Revocation through <see cref="ISessionManager"/> (<c>DeleteAsync</c>, <c>RevokeUserSessionAsync</c>, <c>RevokeUserSessionsAsync</c>).</summary>
    Revoked = 1,

    /// <summary><see cref="SessionOptions.MaxSessionsPerUser"/>: the user signed in elsewhere and this was the least recently used session.</summary>
    Cap = 2,
}

/// <summary>How an expiry was found.</summary>
public enum SessionExpiryDetection
{
    /// <summary>A request presented the session after its expiry and removed it from the store.</summary>
    FoundByRequest = 0,

    /// <summary>The purge (<see cref="ISessionManager.PurgeExpiredAsync"/> or the background purge service) removed expired records.</summary>
    Purged = 1,
}
