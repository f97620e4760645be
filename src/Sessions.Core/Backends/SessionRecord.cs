namespace Sessions.Backends;

/// <summary>One stored session: opaque payload bytes, an absolute expiry and a version for optimistic concurrency.</summary>
/// <param name="Payload">The encoded session envelope. Backends store these bytes verbatim.</param>
/// <param name="ExpiresAt">When the record stops existing. A backend never returns a record at or after this instant.</param>
/// <param name="Version">A number that changes on every write; the core compares it in <see cref="SetCondition.IfVersion(long)"/>.</param>
public sealed record SessionRecord(ReadOnlyMemory<byte> Payload, DateTimeOffset ExpiresAt, long Version);
