namespace Sessions.Redis;

/// <summary>
/// Redis could not serve a session operation: not connected (down, unreachable, refused the credentials), no answer within
/// the command timeout, or an error reply. The message names the server (also in <see cref="SessionStoreException.Endpoint"/>)
/// and the setting to check; <see cref="Exception.InnerException"/> is StackExchange.Redis's own exception.
/// </summary>
/// <param name="message">What happened and what to check.</param>
/// <param name="innerException">StackExchange.Redis's exception.</param>
public sealed class RedisSessionBackendException(string message, Exception? innerException) : SessionStoreException(message, innerException);
