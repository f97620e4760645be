namespace Sessions.EFCore;

/// <summary>
/// One row of the sessions table. Public so that an app can map it in its own <c>DbContext</c>
/// (<c>modelBuilder.AddSessions()</c>) and read it in admin tooling; write sessions through the backend, never through
/// change tracking, or the version checks that protect concurrent requests are bypassed.
/// </summary>
public sealed class SessionEntity
{
    /// <summary>The storage key (column <c>key</c>): printable ASCII, at most 250 characters, the primary key.</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>The encoded session envelope (column <c>payload</c>), stored verbatim.</summary>
    public byte[] Payload { get; set; } = [];

    /// <summary>
    /// When the row stops being a session (column <c>expires_at</c>, indexed): Unix time in milliseconds, UTC. A number
    /// rather than a timestamp so that every provider compares it the same way and exactly.
    /// </summary>
    public long ExpiresAtUnixMilliseconds { get; set; }

    /// <summary>The record's version (column <c>version</c>), compared by conditional writes.</summary>
    public long Version { get; set; }
}
