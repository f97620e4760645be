namespace Sessions;

/// <summary>The base of the exceptions this library throws on purpose.</summary>
public class SessionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SessionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened and what to do.</param>
    public SessionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public SessionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A session could not be saved because another request changed it at the same time.</summary>
/// <param name="message">What happened.</param>
/// <param name="innerException">The cause. <see langword="null"/> for none.</param>
public sealed class SessionConflictException(string message, Exception? innerException = null) : SessionException(message, innerException);

/// <summary>An encoded session is larger than <c>SessionOptions.MaxPayloadBytes</c> (Sessions.AspNetCore).</summary>
/// <param name="message">What happened.</param>
/// <param name="innerException">The cause. <see langword="null"/> for none.</param>
public sealed class SessionPayloadTooLargeException(string message, Exception? innerException = null) : SessionException(message, innerException)
{
    /// <summary>The encoded size that was refused, in bytes.</summary>
    public int PayloadBytes { get; init; }

    /// <summary>The limit in force, in bytes.</summary>
    public int MaxPayloadBytes { get; init; }
}

/// <summary>The session backend failed (unreachable, timed out, or returned an error). The inner exception says how.</summary>
/// <param name="message">What happened.</param>
/// <param name="innerException">The backend's own exception. <see langword="null"/> for none.</param>
public sealed class SessionBackendException(string message, Exception? innerException = null) : SessionException(message, innerException)
{
    /// <summary>The backend's name, as registered.</summary>
    public string? Backend { get; init; }

    /// <summary>The operation that failed: <c>get</c>, <c>set</c>, <c>remove</c> or <c>touch</c>.</summary>
    public string? Operation { get; init; }
}
