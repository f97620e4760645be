namespace Sessions;

/// <summary>What binding a session to a user does when the user already has <see cref="SessionOptions.MaxSessionsPerUser"/> sessions.</summary>
public enum SessionLimitMode
{
    /// <summary>
    /// The new binding succeeds and the user's least recently used sessions are revoked until the user is back at the cap
    /// (Spring Security's concurrent session control with <c>maxSessionsPreventsLogin = false</c>). The default.
    /// </summary>
    RevokeLeastRecentlyUsed = 0,

    /// <summary>
    /// The new binding fails with <see cref="SessionLimitExceededException"/> and the user's existing sessions are kept
    /// (Spring Security's <c>maxSessionsPreventsLogin = true</c>).
    /// </summary>
    Refuse = 1,
}
