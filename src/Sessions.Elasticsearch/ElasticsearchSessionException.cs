namespace Sessions.Elasticsearch;

/// <summary>
/// Elasticsearch could not be reached, refused the credentials or the operation, has no sessions index, or failed. The
/// message names the node and the index and says what to set. The core reports it as a backend failure (HTTP 503).
/// </summary>
public sealed class ElasticsearchSessionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ElasticsearchSessionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened and what to do.</param>
    public ElasticsearchSessionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The transport's exception, if any.</param>
    public ElasticsearchSessionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The node called, when known.</summary>
    public string? Url { get; init; }

    /// <summary>The index involved.</summary>
    public string? Index { get; init; }

    /// <summary>The HTTP status Elasticsearch answered with; <see langword="null"/> when no answer came.</summary>
    public int? StatusCode { get; init; }

    /// <summary>Elasticsearch's error type (for example <c>index_not_found_exception</c>, <c>security_exception</c>), when it answered with one.</summary>
    public string? ErrorType { get; init; }
}
