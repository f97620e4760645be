namespace Sessions.Backends;

/// <summary>
/// Optional backend capability: the largest record the store accepts. The core refuses a session whose encoded payload
/// exceeds min(<c>SessionOptions.MaxPayloadBytes</c>, <see cref="MaxPayloadBytes"/>) before writing anything, with
/// <see cref="SessionPayloadTooLargeException"/> (HTTP 413), so a store that would reject or drop an oversized write
/// (memcached deletes the item on a failed oversized set) never loses the stored session.
/// </summary>
public interface ISessionBackendLimits
{
    /// <summary>
    /// The largest payload, in bytes, that one record can hold in this store: the store's item or document limit less
    /// the backend's own overhead per record (key, attributes, framing). For example about 1 MiB for memcached's default
    /// item size, 400 KB for a DynamoDB item, 1 MiB for a Firestore document.
    /// </summary>
    int MaxPayloadBytes { get; }
}
