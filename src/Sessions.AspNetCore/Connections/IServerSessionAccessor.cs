namespace Sessions.AspNetCore;

/// <summary>
/// The session of the browser a piece of code serves, wherever that code runs: an HTTP request (a page, an endpoint, a
/// component while it prerenders), a Blazor component rendered interactively on the server (its circuit), or a SignalR hub
/// method (its connection). Inject it; register it with <c>AddConnectionSessions()</c>.
/// </summary>
/// <remarks>
/// <para>In an HTTP request it returns <c>HttpContext.GetServerSession()</c>, loaded.</para>
/// <para>
/// In a circuit or a hub connection it returns a snapshot of the session whose cookie the browser sent when it opened the
/// circuit or connection: the same data, in the same backend, that <c>HttpContext.Session</c> sees in its requests. Each
/// call reads the store again, so changes made by requests, other tabs and other circuits are seen, and a session that was
/// signed out, revoked or destroyed is seen as gone on the next call. Changes are saved by
/// <see cref="Microsoft.AspNetCore.Http.ISession.CommitAsync"/> with the engine's rules (versions, merge of concurrent
/// changes, timeouts, the user index). The session ID never leaves the server.
/// </para>
/// <para>
/// A circuit or connection cannot set a cookie, so it cannot start a session, give it a new ID (<c>Regenerate()</c>),
/// change <c>UserId</c> (sign-in, sign-out) or <c>IsPersistent</c>: those throw <see cref="InvalidOperationException"/> with
/// what to do instead (do it in an HTTP request: a form post, an endpoint, or while the page prerenders).
/// </para>
/// </remarks>
public interface IServerSessionAccessor
{
    /// <summary>Loads the browser's session: the request's, or a fresh snapshot from the store in a circuit or hub connection.</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>
    /// The session. In a circuit or connection whose browser has no session (none when it opened, or it has ended since),
    /// an empty session with <see cref="IServerSession.IsNew"/> set, which can be read but not written.
    /// </returns>
    /// <exception cref="SessionBackendException">The session store failed or did not answer in time.</exception>
    /// <exception cref="InvalidOperationException">
    /// The code runs neither in an HTTP request with <c>UseSessions()</c>, nor in a circuit, nor in a hub method (a background
    /// job, for example): there is no browser to take a session from.
    /// </exception>
    ValueTask<IServerSession> LoadAsync(CancellationToken cancellationToken = default);
}
