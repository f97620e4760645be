namespace Sessions.AspNetCore;

/// <summary>
/// How Blazor circuits and SignalR hub connections use the session (<c>AddConnectionSessions()</c>); bound from
/// <c>Sessions:Connections</c>.
/// </summary>
public sealed class ConnectionSessionOptions
{
    /// <summary>
    /// How often an open, connected circuit reads its session and touches it when due, so that a page left open does not
    /// let the session reach its idle timeout; touches never extend it past <see cref="SessionOptions.AbsoluteTimeout"/>.
    /// Each tick costs one read, plus one touch when the touch is due (<see cref="SessionOptions.TouchAfter"/>).
    /// <see langword="null"/> (the default) for a third of <see cref="SessionOptions.IdleTimeout"/>; <see cref="TimeSpan.Zero"/>
    /// turns it off. A circuit whose browser is disconnected does not tick. Hub connections do not tick: their own
    /// <see cref="IServerSessionAccessor.LoadAsync"/> calls touch the session when due, as requests do.
    /// </summary>
    public TimeSpan? KeepAliveInterval { get; set; }

    /// <summary>
    /// Whether a circuit or hub connection whose session ends (signed out, revoked, destroyed, expired, or given a new ID by
    /// a sign-in in another tab) is ended when it next sees that: a circuit reloads its page (a new HTTP request, with
    /// the browser's current cookie), a hub connection is closed by the server (the client's <c>Closed</c> event fires; a new
    /// connection it starts carries the browser's current cookie). Default
    /// <see langword="false"/>: the circuit goes on with an empty, read-only session.
    /// </summary>
    public bool EndConnectionWhenSessionEnds { get; set; }
}
