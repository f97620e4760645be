using Microsoft.Extensions.Logging;

namespace Sessions.Diagnostics;

/// <summary>Log messages of payload protection (<see cref="SessionOptions.ProtectPayloads"/>), event IDs 1050-1059.</summary>
internal static partial class Log
{
    // Followed by the corrupt-record warning (event 1001) for the same record, which names its key; this one says why.
    [LoggerMessage(EventId = 1050, Level = LogLevel.Warning, Message = "A protected session record in backend '{Backend}' could not be unprotected ({Reason}); it is treated as a corrupt record. A destroyed or revoked Data Protection key, another app's key ring, or a changed Sessions:ProtectionPurpose causes this.")]
    public static partial void UnprotectFailed(ILogger logger, string backend, string reason);
}
