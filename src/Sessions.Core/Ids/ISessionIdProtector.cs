namespace Sessions.Ids;

/// <summary>Turns a session ID into the value sent to the client and back, optionally signing it.</summary>
public interface ISessionIdProtector
{
    /// <summary>Produces the value to send to the client for <paramref name="sessionId"/>.</summary>
    /// <param name="sessionId">The session ID.</param>
    /// <returns>The client-facing value.</returns>
    string Protect(string sessionId);

    /// <summary>Recovers the session ID from a client-supplied value; fails (never throws) on anything malformed or badly signed.</summary>
    /// <param name="value">The value the client sent.</param>
    /// <param name="sessionId">The session ID when this returns <see langword="true"/>.</param>
    /// <returns><see langword="true"/> when the value is authentic.</returns>
    bool TryUnprotect(ReadOnlySpan<char> value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? sessionId);
}

/// <summary>The protector used when signing is off: the client-facing value is the ID itself.</summary>
public sealed class PlainSessionIdProtector : ISessionIdProtector
{
    /// <summary>The shared instance.</summary>
    public static PlainSessionIdProtector Instance { get; } = new();

    /// <inheritdoc />
    public string Protect(string sessionId) => sessionId;

    /// <inheritdoc />
    public bool TryUnprotect(ReadOnlySpan<char> value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? sessionId)
    {
        sessionId = value.IsEmpty ? null : value.ToString();
        return sessionId is not null;
    }
}
