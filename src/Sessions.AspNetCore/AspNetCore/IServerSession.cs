using Microsoft.AspNetCore.Http;

namespace Sessions.AspNetCore;

/// <summary>
/// The session of the current request: everything <see cref="ISession"/> offers (so existing <c>HttpContext.Session</c> code
/// keeps working) plus what server-side sessions make possible. Get it with <c>HttpContext.GetServerSession()</c>.
/// </summary>
public interface IServerSession : ISession
{
    /// <summary>When the session was first created.</summary>
    DateTimeOffset CreatedAt { get; }

    /// <summary>When the stored session expires unless used again; <see langword="null"/> while it has not been stored.</summary>
    DateTimeOffset? ExpiresAt { get; }

    /// <summary>Whether the session is new in this request (nothing stored under its ID yet).</summary>
    bool IsNew { get; }

    /// <summary>Whether the cookie survives a browser restart. Defaults from <see cref="SessionOptions.PersistentByDefault"/>.</summary>
    bool IsPersistent { get; set; }

    /// <summary>
    /// The user the session belongs to, or <see langword="null"/>. Setting it adds the session to that user's index, so
    /// <see cref="Sessions.ISessionManager"/> can list and revoke it. On sign-in, set it and call <see cref="Regenerate"/>.
    /// </summary>
    string? UserId { get; set; }

    /// <summary>Gives the session a new ID, keeping its data; the old ID stops working. Call it on sign-in (prevents session fixation).</summary>
    void Regenerate();

    /// <summary>Ends the session: its data is deleted and the client's ID expired. Later writes in the same request start a new session.</summary>
    void Destroy();
}
