namespace Sessions.Backends;

/// <summary>
/// Thrown by a backend's <see cref="ISessionBackend.GetAsync"/> when what is stored under a key cannot be read as a
/// record: wrong type, truncated or garbage bytes, missing attributes. The core treats it as a corrupt record (the
/// request gets a new session; logged once with event ID 1001 and counted in <c>sessions.corrupt_records</c>), never as
/// an outage. Throw <see cref="SessionRecordCorruptException"/>, not a store or I/O exception, for anything the store
/// answered but the backend cannot parse.
/// </summary>
/// <param name="message">What could not be parsed.</param>
/// <param name="innerException">The parser's exception, if any. <see langword="null"/> for none.</param>
public sealed class SessionRecordCorruptException(string message, Exception? innerException = null) : SessionException(message, innerException)
{
    /// <summary>The storage key whose record could not be read, when known.</summary>
    public string? Key { get; init; }

    /// <summary>How many bytes were stored, when known.</summary>
    public int? StoredBytes { get; init; }
}
