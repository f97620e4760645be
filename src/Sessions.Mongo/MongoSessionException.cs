namespace Sessions.Mongo;

/// <summary>
/// MongoDB could not be reached, refused the credentials or the operation, or failed. The message names the servers, the
/// database and the collection, and says what to set. The core reports it as a backend failure (HTTP 503).
/// </summary>
public sealed class MongoSessionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MongoSessionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened and what to do.</param>
    public MongoSessionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The driver's exception.</param>
    public MongoSessionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The servers of the connection (<c>host:port</c>, comma-separated), when known.</summary>
    public string? Servers { get; init; }

    /// <summary>The <c>database.collection</c> namespace involved, when known.</summary>
    public string? Namespace { get; init; }

    /// <summary>MongoDB's error code (for example 13, <c>Unauthorized</c>), when the server answered with one.</summary>
    public int? ErrorCode { get; init; }
}
