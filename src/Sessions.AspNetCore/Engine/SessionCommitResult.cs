namespace Sessions.Engine;

/// <summary>What a commit did, so the transport can update the client (set, refresh or expire the cookie).</summary>
public enum SessionCommitOutcome
{
    /// <summary>Nothing was written; the client needs no update.</summary>
    Unchanged = 0,

    /// <summary>A record was created under a new ID (new session, or after <see cref="SessionData.Regenerate"/> or <see cref="SessionData.Destroy"/>); send the ID.</summary>
    Created = 1,

    /// <summary>The existing record was rewritten under the same ID.</summary>
    Saved = 2,

    /// <summary>The existing record's expiry was extended without rewriting it.</summary>
    Touched = 3,

    /// <summary>The stored record was deleted (destroyed, or emptied); expire the client's ID.</summary>
    Deleted = 4,

    /// <summary>
    /// Another request deleted (destroyed or regenerated) the session meanwhile; this request's changes were dropped rather
    /// than resurrect it. Leave the client's ID alone (the other request may have sent a newer one); the middleware answers
    /// 409 when the request had changes.
    /// </summary>
    Gone = 5,
}

/// <summary>The result of <see cref="SessionStore.CommitAsync"/>.</summary>
/// <param name="Outcome">What the commit did.</param>
/// <param name="ExpiresAt">The stored record's expiry after the commit, when one is stored.</param>
public readonly record struct SessionCommitResult(SessionCommitOutcome Outcome, DateTimeOffset? ExpiresAt);
