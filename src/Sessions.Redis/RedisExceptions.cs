namespace Sessions.Redis;

/// <summary>
/// Redis could not serve a session operation: no connection to the server (down, unreachable, refused the credentials),
/// no answer within the command timeout (overloaded or frozen), or an error reply. The message names the server and the
/// setting to check; <see cref="Exception.InnerException"/> is StackExchange.Redis's own exception
/// (<c>RedisConnectionException</c>, <c>RedisTimeoutException</c>, <c>RedisServerException</c>).
/// </summary>
/// <remarks>
/// The core wraps it in <c>SessionBackendException</c>, which the middleware answers with 503. The connection reconnects
/// in the background; later calls succeed once the server is back, without restarting the application.
/// </remarks>
public sealed class RedisSessionBackendException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RedisSessionBackendException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened and what to check.</param>
    public RedisSessionBackendException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened and what to check.</param>
    /// <param name="innerException">StackExchange.Redis's exception.</param>
    public RedisSessionBackendException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The server (or servers) the operation was for, e.g. <c>127.0.0.1:6379</c>.</summary>
    public string? Endpoint { get; init; }
}
