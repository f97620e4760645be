namespace Sessions;

/// <summary>
/// A session could not be bound to a user who already has <see cref="SessionOptions.MaxSessionsPerUser"/> sessions, and
/// <see cref="SessionOptions.SessionLimitMode"/> is <see cref="SessionLimitMode.Refuse"/>. Thrown by the commit, so an
/// endpoint that signs users in calls <c>await session.CommitAsync()</c>, catches it, sets <c>UserId</c> back to
/// <see langword="null"/> and shows a message; uncaught, the middleware answers 409 Conflict.
/// </summary>
public sealed class SessionLimitExceededException : SessionException
{
    /// <summary>Creates the exception.</summary>
    public SessionLimitExceededException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public SessionLimitExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public SessionLimitExceededException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The user whose binding was refused.</summary>
    public string? UserId { get; init; }

    /// <summary>The cap in force (<see cref="SessionOptions.MaxSessionsPerUser"/>).</summary>
    public int MaxSessionsPerUser { get; init; }
}
