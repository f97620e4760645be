using Microsoft.Extensions.Logging;

namespace Sessions.Diagnostics;

// An outage is logged once when it starts, at most every OutageReportInterval while it lasts (a count), and once when it
// ends; each failed call's exception (with its stack trace) only at Debug (event 1004). Event IDs 1040-1059.
internal static partial class Log
{
    [LoggerMessage(EventId = 1040, Level = LogLevel.Error, Message = "Session backend '{Backend}' is failing: {Operation} failed ({Reason}). Requests that use the session fail (503) until it answers again; further failures are counted, not logged one by one (each at Debug, event 1004).")]
    public static partial void OutageStarted(ILogger logger, string backend, string operation, string reason);

    [LoggerMessage(EventId = 1041, Level = LogLevel.Warning, Message = "Session backend '{Backend}' is still failing after {Seconds:0} s: {Failed} calls failed so far (last: {Reason}).")]
    public static partial void OutageContinuing(ILogger logger, string backend, double seconds, long failed, string reason);

    [LoggerMessage(EventId = 1042, Level = LogLevel.Warning, Message = "Session backend '{Backend}' answers again: the outage lasted {DurationMs:0} ms and {Failed} calls failed during it.")]
    public static partial void OutageEnded(ILogger logger, string backend, double durationMs, long failed);
}
