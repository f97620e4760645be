namespace Sessions.Memcached;

/// <summary>
/// A memcached server could not be reached, did not answer in time, or refused an operation. The message names the
/// server (<c>host:port</c>) and says what to check.
/// </summary>
public class MemcachedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MemcachedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened and what to do.</param>
    public MemcachedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public MemcachedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The server involved, as <c>host:port</c>, when one is.</summary>
    public string? Server { get; init; }
}

/// <summary>
/// A session record is larger than the memcached server's item size limit (1 MB unless the server was started with
/// <c>-I</c>). Start memcached with a larger limit (for example <c>-I 4m</c>) or keep less in the session.
/// </summary>
public sealed class MemcachedItemTooLargeException : MemcachedException
{
    /// <summary>Creates the exception.</summary>
    public MemcachedItemTooLargeException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened and what to do.</param>
    public MemcachedItemTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public MemcachedItemTooLargeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The size of the value that was refused, in bytes (the session payload plus the record header).</summary>
    public int ValueBytes { get; init; }
}
