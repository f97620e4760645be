namespace Sessions.Backends;

/// <summary>One stored session: opaque payload bytes, an absolute expiry and a version for optimistic concurrency.</summary>
/// <param name="Payload">The encoded session envelope. Backends store these bytes verbatim.</param>
/// <param name="ExpiresAt">When the record stops existing. A backend never returns a record at or after this instant.</param>
/// <param name="Version">A number that changes on every write; the core compares it in <see cref="SetCondition.IfVersion(long)"/>.</param>
public sealed record SessionRecord(ReadOnlyMemory<byte> Payload, DateTimeOffset ExpiresAt, long Version)
{
    /// <summary>
    /// Optional: the store's own concurrency token for the record as read (a memcached CAS value, a Firestore
    /// <c>update_time</c>, an Elasticsearch sequence number and primary term). A backend may set it in
    /// <see cref="ISessionBackend.GetAsync"/>; the core hands it back, unchanged, in
    /// <see cref="SetCondition.ConcurrencyToken"/> when it writes that record's successor with
    /// <see cref="SetCondition.IfVersion(long, object?)"/>, which saves the backend a read before its conditional write.
    /// </summary>
    /// <remarks>The core never inspects it. Backends that leave it <see langword="null"/> work as before.</remarks>
    public object? ConcurrencyToken { get; init; }
}
