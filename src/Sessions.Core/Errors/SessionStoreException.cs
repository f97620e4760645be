namespace Sessions;

/// <summary>
/// The base of every backend's store error: the store could not serve an operation (unreachable, timed out, refused the
/// credentials, answered with an error). A backend throws it, or a type derived from it, with the store's own exception as
/// <see cref="Exception.InnerException"/>; the engine counts it as an outage (<see cref="IsStoreFailure"/>), wraps it in
/// <see cref="SessionBackendException"/> and the middleware answers 503.
/// </summary>
/// <remarks>
/// It does not derive from <see cref="SessionException"/>: that family is the library's own verdicts (a conflict, a corrupt
/// record, a payload over the limit), which say nothing about the store's health.
/// </remarks>
/// <param name="message">What failed, where, and what to check.</param>
/// <param name="innerException">The store client's own exception. <see langword="null"/> for none.</param>
public class SessionStoreException(string message, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>Where the store is, as the backend knows it: <c>host:port</c>, a URL, a file path, a table or index name.</summary>
    public string? Endpoint { get; init; }

    /// <summary>The store's own error code or status, when it gave one (a DynamoDB error code, an HTTP or gRPC status, a server error number).</summary>
    public string? ErrorCode { get; init; }

    /// <summary>
    /// The one rule for what counts as the store failing, used by the engine (timeouts, the circuit breaker, 503) and by
    /// backends deciding what to translate (through <see cref="StoreErrors.ShouldWrap"/>): every exception but the library's
    /// own verdicts (<see cref="SessionException"/>) and the caller's own cancellation.
    /// </summary>
    /// <param name="exception">What a store call threw.</param>
    /// <param name="cancellationToken">The token the caller passed to that call.</param>
    /// <returns><see langword="true"/> when <paramref name="exception"/> is a store failure.</returns>
    public static bool IsStoreFailure(Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception is not SessionException && !(exception is OperationCanceledException && cancellationToken.IsCancellationRequested);
    }
}
