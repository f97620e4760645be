using Microsoft.Extensions.Logging;

namespace Sessions.Diagnostics;

/// <summary>The engine's log messages. Event IDs 1000-1099 belong to the engine; see README for the full list.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Session record {Key} in backend '{Backend}' could not be decoded ({Length} bytes, first byte 0x{FirstByte:X2}); treated as missing, a new session will be issued.")]
    public static partial void CorruptRecord(ILogger logger, string key, string backend, int length, byte firstByte);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Session save conflicted with a concurrent change (attempt {Attempt}, mode {Mode}); reloading.")]
    public static partial void Conflict(ILogger logger, int attempt, ConcurrencyMode mode);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Session was deleted by another request before this request's changes were saved; the changes were dropped and the session was not recreated.")]
    public static partial void SessionGone(ILogger logger);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Session backend '{Backend}' failed during {Operation}.")]
    public static partial void BackendFailed(ILogger logger, Exception exception, string backend, string operation);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "A new session ID collided with a stored session; drawing another. If this repeats, the ID generator is not random.")]
    public static partial void IdCollision(ILogger logger);
}
