using Microsoft.Extensions.Logging;

namespace Sessions.Diagnostics;

/// <summary>The engine's log messages. Event IDs 1000-1099 belong to the engine; docs/observability.md lists them all.</summary>
/// <remarks>
/// Every [LoggerMessage] of a project stays in this one partial declaration: with the class split over several files,
/// the .NET 10 logging generator emits the parts in an unstable order (dotnet/runtime#119587), so the same commit built
/// twice gives different DLLs. A test in Sessions.Core.Tests holds every src project to this.
/// </remarks>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Session record {Key} in backend '{Backend}' could not be decoded ({Length} bytes, first byte 0x{FirstByte:X2}); treated as missing, a new session will be issued.")]
    public static partial void CorruptRecord(ILogger logger, string key, string backend, int length, byte firstByte);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Session save conflicted with a concurrent change (attempt {Attempt}, mode {Mode}); reloading.")]
    public static partial void Conflict(ILogger logger, int attempt, ConcurrencyMode mode);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Session was deleted by another request before this request's changes were saved; the changes were dropped and the session was not recreated.")]
    public static partial void SessionGone(ILogger logger);

    // At Debug: each failed call with its stack trace. The outage as a whole is logged by events 1040-1042.
    [LoggerMessage(EventId = 1004, Level = LogLevel.Debug, Message = "Session backend '{Backend}' failed during {Operation}.")]
    public static partial void BackendFailed(ILogger logger, Exception exception, string backend, string operation);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "A new session ID collided with a stored session; drawing another. If this repeats, the ID generator is not random.")]
    public static partial void IdCollision(ILogger logger);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Session backend '{Backend}' is unavailable and Sessions:FailureMode is Continue: this request gets an empty, read-only session.")]
    public static partial void ContinuingWithoutSession(ILogger logger, Exception? exception, string backend);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "A write to the session was dropped: backend '{Backend}' was unavailable when the request started (Sessions:FailureMode is Continue).")]
    public static partial void WriteDropped(ILogger logger, string backend);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "The session could not be saved (backend '{Backend}'); Sessions:FailureMode is Continue, so the response goes on without it.")]
    public static partial void CommitDropped(ILogger logger, Exception? exception, string backend);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "The session could not be loaded from backend '{Backend}' and the endpoint used it; answering 503. The session was not changed.")]
    public static partial void Unavailable(ILogger logger, Exception? exception, string backend);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Information, Message = "The endpoint ran, but its session changes were not saved: a concurrent change to the session could not be combined with them (Sessions:ConcurrencyMode is {Mode}); answering 409.")]
    public static partial void ConflictResponse(ILogger logger, Exception? exception, ConcurrencyMode mode);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Error, Message = "The session could not be saved after the response had already started; the response was sent without it.")]
    public static partial void CommitAfterStartFailed(ILogger logger, Exception? exception);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Error, Message = "Session changes made after the response started could not be saved when the request ended (backend '{Backend}'): {Reason} The response had already been sent; the changes are lost.")]
    public static partial void LateCommitFailed(ILogger logger, Exception? exception, string backend, string reason);

    [LoggerMessage(EventId = 1017, Level = LogLevel.Information, Message = "The endpoint ran, but its session changes were dropped: the session expired (idle or absolute timeout) while the request ran; answering 409.")]
    public static partial void ExpiredDuringRequest(ILogger logger, Exception? exception);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Purged {Count} expired sessions from backend '{Backend}'.")]
    public static partial void Purged(ILogger logger, long count, string backend);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Error, Message = "Purging expired sessions from backend '{Backend}' failed; the next run will try again.")]
    public static partial void PurgeFailed(ILogger logger, Exception exception, string backend);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Information, Message = "The endpoint ran, but its session changes were not saved: backend '{Backend}' failed during the save; answering 503.")]
    public static partial void CommitUnavailable(ILogger logger, Exception? exception, string backend);

    [LoggerMessage(EventId = 1023, Level = LogLevel.Warning, Message = "The endpoint ran, but its session changes were not saved: the session would take {PayloadBytes} bytes, over the limit of {MaxPayloadBytes} bytes; answering 413.")]
    public static partial void PayloadTooLarge(ILogger logger, Exception? exception, int payloadBytes, int maxPayloadBytes);

    [LoggerMessage(EventId = 1024, Level = LogLevel.Information, Message = "The endpoint ran, but its session changes were dropped: another request destroyed the session or gave it a new ID meanwhile; answering 409 and leaving the client's cookie alone.")]
    public static partial void LostRace(ILogger logger, Exception? exception);

    // An outage is logged once when it starts, at most every OutageReportInterval while it lasts (a count), and once when
    // it ends; each failed call's exception (with its stack trace) only at Debug (event 1004). Event IDs 1040-1059.
    // {Partition} is "whole store", or "partition <name>" for a backend that declares partitions (ISessionBackendPartitions):
    // each partition has its own breaker and its own outage.
    [LoggerMessage(EventId = 1040, Level = LogLevel.Error, Message = "Session backend '{Backend}' ({Partition}) is failing: {Operation} failed ({Reason}). Requests that use a session stored there fail (503) until it answers again; further failures are counted, not logged one by one (each at Debug, event 1004).")]
    public static partial void OutageStarted(ILogger logger, string backend, string partition, string operation, string reason);

    [LoggerMessage(EventId = 1041, Level = LogLevel.Warning, Message = "Session backend '{Backend}' ({Partition}) is still failing after {Seconds:0} s: {Failed} calls failed so far (last: {Reason}).")]
    public static partial void OutageContinuing(ILogger logger, string backend, string partition, double seconds, long failed, string reason);

    [LoggerMessage(EventId = 1042, Level = LogLevel.Warning, Message = "Session backend '{Backend}' ({Partition}) answers again: the outage lasted {DurationMs:0} ms and {Failed} calls failed during it.")]
    public static partial void OutageEnded(ILogger logger, string backend, string partition, double durationMs, long failed);

    [LoggerMessage(EventId = 1050, Level = LogLevel.Warning, Message = "Session backend '{Backend}' ({Partition}) got no call for {Seconds:0} s during its outage: the store no longer sends keys there (a failover moved them) or nobody used them; the outage is no longer tracked. {Failed} calls failed during it.")]
    public static partial void PartitionRetired(ILogger logger, string backend, string partition, double seconds, long failed);

    [LoggerMessage(EventId = 1051, Level = LogLevel.Warning, Message = "Session backend '{Backend}' declares more than {Limit} partitions in use; keys of further partitions share the whole store's circuit breaker. A backend's partition should be a server or shard, not a key.")]
    public static partial void PartitionLimitReached(ILogger logger, string backend, int limit);

    // Lifecycle events and the per-user cap: events 1043-1045.
    [LoggerMessage(EventId = 1043, Level = LogLevel.Error, Message = "Session event handler {Handler} threw while handling {Event}; the request and the other handlers went on as if it had not.")]
    public static partial void EventHandlerFailed(ILogger logger, Exception exception, string handler, string @event);

    [LoggerMessage(EventId = 1044, Level = LogLevel.Information, Message = "User sign-in reached Sessions:MaxSessionsPerUser = {Cap}: revoked {Revoked} least recently used sessions of the user.")]
    public static partial void CapRevoked(ILogger logger, int cap, int revoked);

    [LoggerMessage(EventId = 1045, Level = LogLevel.Information, Message = "The endpoint ran, but its session was not bound to the user: the user already has Sessions:MaxSessionsPerUser = {Cap} sessions and Sessions:SessionLimitMode is Refuse; answering 409.")]
    public static partial void CapRefusedResponse(ILogger logger, Exception? exception, int cap);

    [LoggerMessage(EventId = 1046, Level = LogLevel.Warning, Message = "A sign-in under Sessions:SessionLimitMode = Refuse took {ElapsedMs} ms from its user index entry to its cap check, more than half the 2-minute window in which other sign-ins wait for it; it is refused so that the cap holds (a very slow store, or app instances whose clocks differ by a minute or more).")]
    public static partial void CapLateBinding(ILogger logger, long elapsedMs);

    [LoggerMessage(EventId = 1047, Level = LogLevel.Warning, Message = "A commit failed after it began writing, and undoing its writes failed too ({Reason}): a record no client holds may stay until it expires, and a regenerate's old ID may stay moved (its client gets a new session).")]
    public static partial void UndoFailed(ILogger logger, string reason);

    // The user index, 1070-1079.
    [LoggerMessage(EventId = 1070, Level = LogLevel.Information, Message = "A sign-in took a user past the user index's limit of {Limit} live sessions (Sessions:MaxSessionsPerUser is not set): revoked {Revoked} least recently used sessions of the user.")]
    public static partial void IndexLimitRevoked(ILogger logger, int limit, int revoked);

    [LoggerMessage(EventId = 1071, Level = LogLevel.Warning, Message = "The user index {IndexKey} in backend '{Backend}' was missing or no longer listed a live session of the user: the store dropped it (evicted under memory pressure, or deleted). The session added itself back; the user's other sessions do so on their next save or touch. Logged once per loss; each session that adds itself back is counted in sessions.user_index.healed.")]
    public static partial void UserIndexHealed(ILogger logger, string backend, string indexKey);

    [LoggerMessage(EventId = 1072, Level = LogLevel.Warning, Message = "Revoking the sessions of the user with index {IndexKey} found {Count} live sessions the index did not list (it was lost, or recreated since), by scanning the store; they were revoked too.")]
    public static partial void RevokedUnlisted(ILogger logger, string indexKey, int count);

    [LoggerMessage(EventId = 1073, Level = LogLevel.Warning, Message = "A session missing from the user index {IndexKey} was created before the user's sessions were last revoked: the revocation missed it (the index had been lost), so it ends now.")]
    public static partial void MissedByRevocation(ILogger logger, string indexKey);

    // Payload protection (Sessions:ProtectPayloads), 1060-1069. Followed by event 1001 for the same stored session,
    // which names its key; this one says why.
    [LoggerMessage(EventId = 1060, Level = LogLevel.Warning, Message = "Could not unprotect a protected session stored in backend '{Backend}' ({Reason}); it is treated as a corrupt record. A destroyed Data Protection key, a revoked one (with Sessions:ProtectionIgnoreRevocationErrors off), another app's key ring, or a changed Sessions:ProtectionPurpose causes this.")]
    public static partial void UnprotectFailed(ILogger logger, string backend, string reason);

    // Logged once per revoked key and codec (one per app); otherwise every load of a session under that key would log it.
    [LoggerMessage(EventId = 1061, Level = LogLevel.Warning, Message = "A protected session stored in backend '{Backend}' was read although its Data Protection key {KeyId} is revoked, because Sessions:ProtectionIgnoreRevocationErrors is on; its next save rewrites it under the current key. To log out every session under a revoked key instead, set Sessions:ProtectionIgnoreRevocationErrors to false. Logged once per key.")]
    public static partial void ReadUnderRevokedKey(ILogger logger, string backend, Guid keyId);

    [LoggerMessage(EventId = 1080, Level = LogLevel.Information, Message = "Session backend '{Backend}' is doing its start-up work (ISessionBackendInitializer: a table, an index, a check); the app starts serving when it is done.")]
    public static partial void Initializing(ILogger logger, string backend);

    [LoggerMessage(EventId = 1081, Level = LogLevel.Information, Message = "Session backend '{Backend}' finished its start-up work in {Milliseconds} ms.")]
    public static partial void Initialized(ILogger logger, string backend, long milliseconds);

    // At Debug: one per circuit and tick during an outage; the outage itself is logged once by events 1040-1042.
    [LoggerMessage(EventId = 1090, Level = LogLevel.Debug, Message = "A Blazor circuit could not keep its session alive (backend '{Backend}'): {Reason} The next tick tries again.")]
    public static partial void CircuitKeepAliveFailed(ILogger logger, Exception? exception, string backend, string reason);

    [LoggerMessage(EventId = 1091, Level = LogLevel.Warning, Message = "A Blazor circuit whose session ended could not be reloaded (Sessions:Connections:EndConnectionWhenSessionEnds); it goes on with an empty, read-only session.")]
    public static partial void CircuitReloadFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1092, Level = LogLevel.Warning, Message = "A Blazor circuit opened without its connection's session cookie at hand (the circuit handler ran outside the hub invocation that opened it, on a transport without a long-running request); the circuit has no session. Check that UseSessions() runs before MapRazorComponents.")]
    public static partial void CircuitWithoutConnection(ILogger logger);
}
