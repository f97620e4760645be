namespace Sessions.Envelope;

/// <summary>What a stored session holds, decoded: timestamps, the bound user, the cookie kind and the entries.</summary>
internal sealed class SessionEnvelope
{
    public SessionEnvelope(DateTimeOffset createdAt, DateTimeOffset? absoluteDeadline, string? userId, bool isPersistent, Dictionary<string, byte[]> entries)
    {
        CreatedAt = createdAt;
        AbsoluteDeadline = absoluteDeadline;
        UserId = userId;
        IsPersistent = isPersistent;
        Entries = entries;
    }

    public DateTimeOffset CreatedAt { get; }

    public DateTimeOffset? AbsoluteDeadline { get; }

    public string? UserId { get; }

    public bool IsPersistent { get; }

    public Dictionary<string, byte[]> Entries { get; }
}
