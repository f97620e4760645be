namespace Sessions.Memcached;

/// <summary>
/// A memcached server could not be reached, did not answer in time, or refused an operation. The message names the server
/// (<c>host:port</c>, also in <see cref="Server"/>) and says what to check.
/// </summary>
/// <param name="message">What happened and what to do.</param>
/// <param name="innerException">The cause, if any.</param>
public class MemcachedException(string message, Exception? innerException = null) : SessionStoreException(message, innerException)
{
    /// <summary>The server involved, as <c>host:port</c>, when one is (the same as <see cref="SessionStoreException.Endpoint"/>).</summary>
    public string? Server => Endpoint;
}

/// <summary>
/// A session record is larger than the memcached server's item size limit (1 MB unless the server was started with
/// <c>-I</c>). Start memcached with a larger limit (for example <c>-I 4m</c>) or keep less in the session.
/// </summary>
/// <param name="message">What happened and what to do.</param>
public sealed class MemcachedItemTooLargeException(string message) : MemcachedException(message)
{
    /// <summary>The size of the value that was refused, in bytes (the session payload plus the record header).</summary>
    public int ValueBytes { get; init; }
}
