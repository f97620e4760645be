namespace Sessions;

/// <summary>
/// A session could not be bound to a user who already has <see cref="SessionOptions.MaxSessionsPerUser"/> sessions, and
/// <see cref="SessionOptions.SessionLimitMode"/> is <see cref="SessionLimitMode.Refuse"/>. Thrown by the commit, so an
/// endpoint that signs users in calls <c>await session.CommitAsync()</c>, catches it, sets <c>UserId</c> back to
/// <see langword="null"/> and shows a message; uncaught, the middleware answers 409 Conflict.
/// </summary>
/// <param name="message">What happened.</param>
/// <param name="innerException">The cause. <see langword="null"/> for none.</param>
public sealed class SessionLimitExceededException(string message, Exception? innerException = null) : SessionException(message, innerException)
{
    /// <summary>The user whose binding was refused.</summary>
    public string? UserId { get; init; }

    /// <summary>The cap in force (<see cref="SessionOptions.MaxSessionsPerUser"/>).</summary>
    public int MaxSessionsPerUser { get; init; }
}
