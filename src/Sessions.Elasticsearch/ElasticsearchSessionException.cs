namespace Sessions.Elasticsearch;

/// <summary>
/// Elasticsearch could not be reached, refused the credentials or the operation, has no sessions index, or failed. The
/// message names the node (<see cref="SessionStoreException.Endpoint"/>) and the index and says what to set;
/// <see cref="SessionStoreException.ErrorCode"/> is Elasticsearch's error type when it answered with one. The core reports
/// it as a backend failure (HTTP 503).
/// </summary>
/// <param name="message">What happened and what to do.</param>
/// <param name="innerException">The transport's exception, if any.</param>
public sealed class ElasticsearchSessionException(string message, Exception? innerException = null) : SessionStoreException(message, innerException)
{
    /// <summary>The index involved.</summary>
    public string? Index { get; init; }

    /// <summary>The HTTP status Elasticsearch answered with; <see langword="null"/> when no answer came.</summary>
    public int? StatusCode { get; init; }

    /// <summary>Elasticsearch's error type (for example <c>index_not_found_exception</c>, <c>security_exception</c>): the same as <see cref="SessionStoreException.ErrorCode"/>.</summary>
    public string? ErrorType => ErrorCode;
}
