namespace Sessions;

/// <summary>Manages sessions outside requests: look up and delete by ID, list and revoke a user's sessions, purge expired ones.</summary>
public interface ISessionManager
{
    /// <summary>Describes a live session.</summary>
    /// <param name="sessionId">The session ID.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session, or <see langword="null"/> when it does not exist or has expired.</returns>
    ValueTask<SessionInfo?> GetAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Deletes a session by ID (it is removed from its user's index too).</summary>
    /// <param name="sessionId">The session ID.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether a live session was deleted.</returns>
    ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The handle under which <see cref="ListUserSessionsAsync"/> shows a session. In a request, <c>HttpContext.Session.Id</c>
    /// already is the current session's handle (passed here, a handle is returned unchanged).
    /// </summary>
    /// <param name="sessionId">The session ID (the credential the cookie carries), or a handle.</param>
    /// <returns>The handle: not secret, and useless as a session ID; empty for a malformed ID.</returns>
    string GetHandle(string sessionId);

    /// <summary>Lists a user's live sessions, newest first; works on every backend through the generic user index.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sessions.</returns>
    ValueTask<IReadOnlyList<SessionInfo>> ListUserSessionsAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>Revokes one of a user's sessions by its handle (as listed). Only sessions of that user can be revoked this way.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="handle">The session's handle.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether a session was revoked.</returns>
    ValueTask<bool> RevokeUserSessionAsync(string userId, string handle, CancellationToken cancellationToken = default);

    /// <summary>Revokes every session of a user (for example after a password change).</summary>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many live sessions were revoked.</returns>
    ValueTask<int> RevokeUserSessionsAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>Deletes expired sessions, for backends without native expiry (<see cref="Backends.IExpiredSessionPurger"/>); 0 for the others.</summary>
    /// <param name="cancellationToken">Cancels the purge.</param>
    /// <returns>How many records were deleted.</returns>
    ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default);
}

/// <summary>What <see cref="ISessionManager"/> tells about a session. Never contains the session ID.</summary>
/// <param name="Handle">A short, non-secret handle for revoking the session.</param>
/// <param name="UserId">The user it is bound to, if any.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="LastSeenAt">When it was last used, to within <see cref="SessionOptions.TouchAfter"/>.</param>
/// <param name="ExpiresAt">When it expires unless used.</param>
/// <param name="ClientDescription">The client's User-Agent when the user signed in, if known.</param>
public sealed record SessionInfo(string Handle, string? UserId, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, DateTimeOffset ExpiresAt, string? ClientDescription);
