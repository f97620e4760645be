namespace Sessions.Redis;

/// <summary>
/// Redis could not be reached, refused the connection or the credentials, or the connection was lost while a command
/// was in flight. The message names the server and what to check. The client reconnects in the background; a later call
/// succeeds once the server is back, without restarting the application.
/// </summary>
public sealed class RedisConnectionException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened and what to check.</param>
    /// <param name="innerException">The underlying socket, TLS or protocol error, if any.</param>
    public RedisConnectionException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>The Redis server answered a command with an error; the message holds the server's own text.</summary>
public sealed class RedisServerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The command and the server's error text.</param>
    public RedisServerException(string message)
        : base(message)
    {
    }
}

/// <summary>The server sent bytes that are not valid RESP; the connection is closed and reopened.</summary>
internal sealed class RedisProtocolException(string message) : Exception(message);
