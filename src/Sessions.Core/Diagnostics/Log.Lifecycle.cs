using Microsoft.Extensions.Logging;

namespace Sessions.Diagnostics;

// Lifecycle events and the per-user cap: events 1043-1045.
internal static partial class Log
{
    [LoggerMessage(EventId = 1043, Level = LogLevel.Error, Message = "Session event handler {Handler} threw while handling {Event}; the request and the other handlers went on as if it had not.")]
    public static partial void EventHandlerFailed(ILogger logger, Exception exception, string handler, string @event);

    [LoggerMessage(EventId = 1044, Level = LogLevel.Information, Message = "User sign-in reached Sessions:MaxSessionsPerUser = {Cap}: revoked {Revoked} least recently used sessions of the user.")]
    public static partial void CapRevoked(ILogger logger, int cap, int revoked);

    [LoggerMessage(EventId = 1045, Level = LogLevel.Information, Message = "The endpoint ran, but its session was not bound to the user: the user already has Sessions:MaxSessionsPerUser = {Cap} sessions and Sessions:SessionLimitMode is Refuse; answering 409.")]
    public static partial void CapRefusedResponse(ILogger logger, Exception? exception, int cap);
}
