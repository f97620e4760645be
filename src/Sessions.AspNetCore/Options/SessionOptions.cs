using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Sessions.Engine;
using Sessions.Ids;

namespace Sessions;

/// <summary>How sessions behave: timeouts, storage keys, the envelope format, limits, concurrency and failure handling.</summary>
/// <remarks>Bind from configuration with <c>AddSessions(configuration.GetSection("Sessions"))</c>; validated at start-up.</remarks>
public sealed class SessionOptions
{
    /// <summary>The default <see cref="KeyPrefix"/>.</summary>
    public const string DefaultKeyPrefix = "session:";

    /// <summary>The default <see cref="ProtectionPurpose"/>.</summary>
    public const string DefaultProtectionPurpose = "Sessions.Payloads.v1";

    /// <summary>
    /// The name of the backend in force when the app registers several (<c>.AddRedisBackend().AddMemcachedBackend()</c>),
    /// as Flask-Session's <c>SESSION_TYPE</c> does: <c>redis</c>, <c>memcached</c>, <c>filesystem</c>, ... (case-insensitive).
    /// Not needed when only one backend is registered. A name that matches no registered backend fails at start-up with
    /// the list of registered names. Default: none.
    /// </summary>
    public string? Backend { get; set; }

    /// <summary>
    /// A move between two registered backends (<c>Sessions:Migration:From</c> and <c>Sessions:Migration:To</c>, or
    /// <c>AddMigratingBackend(from, to)</c>): while both are set, the migrating backend is in force and
    /// <see cref="Backend"/> is not used. Default: none.
    /// </summary>
    public SessionMigrationOptions Migration { get; set; } = new();

    /// <summary>Sliding expiry: a session not used for this long ends. Default 20 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00.0000001", "3650.00:00:00", ErrorMessage = "Sessions:IdleTimeout must be more than 0 and at most 3650 days.")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>When set, a session ends this long after it was created, however active it is. Default: none.</summary>
    [Range(typeof(TimeSpan), "00:00:00.0000001", "3650.00:00:00", ErrorMessage = "Sessions:AbsoluteTimeout must be more than 0 and at most 3650 days when set; leave it unset for no absolute timeout.")]
    public TimeSpan? AbsoluteTimeout { get; set; }

    /// <summary>
    /// A session that was read but not modified has its expiry extended only when that gains at least this much time,
    /// so busy sessions do not cost a backend write per request. Default 1 minute; never more than half of <see cref="IdleTimeout"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", ErrorMessage = "Sessions:TouchAfter must not be negative.")]
    public TimeSpan TouchAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Prefix of every storage key this app writes; lets apps share a store. Default <c>session:</c>.</summary>
    [Required(AllowEmptyStrings = true, ErrorMessage = "Sessions:KeyPrefix must not be null; set it to \"\" for no prefix.")]
    [RegularExpression("[!-~]{0,100}", ErrorMessage = "Sessions:KeyPrefix must be at most 100 printable ASCII characters without spaces.")]
    public string KeyPrefix { get; set; } = DefaultKeyPrefix;

    /// <summary>
    /// When <see langword="true"/> (the default) storage keys hold base64url(SHA-256(session ID)), so a leaked store
    /// holds no usable cookies. <see langword="false"/> stores the raw ID in the key (easier to debug, weaker).
    /// </summary>
    public bool HashIdsAtRest { get; set; } = true;

    /// <summary>Random bytes in a new session ID (before base64url). Default 32; at least 16.</summary>
    [Range(SessionIdGenerator.MinIdLengthBytes, SessionIdGenerator.MaxIdLengthBytes, ErrorMessage = "Sessions:IdLengthBytes must be between {1} and {2}.")]
    public int IdLengthBytes { get; set; } = 32;

    /// <summary>How session data is encoded in the store. Readers accept both formats, so switching is safe.</summary>
    [EnumDataType(typeof(SessionFormat), ErrorMessage = "Sessions:Format must be Binary or Json.")]
    public SessionFormat Format { get; set; } = SessionFormat.Binary;

    /// <summary>
    /// When <see langword="true"/>, every session record written is encrypted and authenticated with ASP.NET Core Data
    /// Protection (the app's <c>IDataProtectionProvider</c>, purpose <see cref="ProtectionPurpose"/>), so a leaked store or
    /// backup reveals no session data. Default <see langword="false"/>. Needs Data Protection registered
    /// (<c>services.AddDataProtection()</c>; checked at start-up). Records are read whichever way they were written, so
    /// turning this on or off logs nobody out; a record that fails to decrypt (destroyed key, other app, tampered bytes,
    /// or a revoked key when <see cref="ProtectionIgnoreRevocationErrors"/> is off) is treated as a corrupt record: a new
    /// session, logged (event 1001) and counted (<c>sessions.corrupt_records</c>).
    /// Costs one AES-256-GCM encrypt per save and one decrypt per load (Data Protection only wraps a new data key every
    /// minute, and each instance unwraps a data key once; see bench/RESULTS.md), plus about 165 bytes per record (the
    /// wrapped data key, a 12-byte nonce and a 16-byte tag), counted against <see cref="MaxPayloadBytes"/>.
    /// </summary>
    public bool ProtectPayloads { get; set; }

    /// <summary>
    /// The Data Protection purpose string session records are protected with (see <see cref="ProtectPayloads"/>). Default
    /// <c>Sessions.Payloads.v1</c>; at most 200 characters. Changing it makes every protected record unreadable (each
    /// reads as corrupt and its user gets a new session). Apps sharing one key ring and one store should differ in
    /// Data Protection's application name, not here.
    /// </summary>
    [Required(ErrorMessage = "Sessions:ProtectionPurpose must not be blank; leave it unset for the default '" + DefaultProtectionPurpose + "'.")]
    [MaxLength(200, ErrorMessage = "Sessions:ProtectionPurpose must be at most {1} characters.")]
    public string ProtectionPurpose { get; set; } = DefaultProtectionPurpose;

    /// <summary>
    /// Whether a protected record whose Data Protection key has been revoked still reads (named after the
    /// <c>ignoreRevocationErrors</c> parameter of Data Protection's <c>IPersistedDataProtector.DangerousUnprotect</c>, which
    /// does it). Default <see langword="true"/>.
    /// <para>Revoking a key tells Data Protection not to trust new protections with it; it does not delete anything. With this
    /// on, sessions written under a revoked (and, as revocation does, rotated) key keep working: the record is decrypted
    /// with the revoked key, warning 1061 is logged once per key, and the session's next save rewrites it under the current
    /// key (a touch, which only extends the expiry, does not). With it off, such records read as corrupt (events 1060 and
    /// 1001, <c>sessions.corrupt_records</c>): each of their users gets a new, empty session.</para>
    /// <para>Set it to <see langword="false"/> when the key was revoked because it leaked and everyone signed in under it
    /// must sign in again, as ASP.NET Core's authentication cookies behave. Either way a key destroyed (removed from the
    /// ring) cannot be read, and a record in the store is trusted only as far as the store is: anyone who can write to it
    /// can plant a plain record anyway (see <see cref="ProtectPayloads"/>). A running instance may still read a revoked key's
    /// records for up to 15 minutes after it learns of the revocation even with this off (its cached data keys).</para>
    /// </summary>
    public bool ProtectionIgnoreRevocationErrors { get; set; } = true;

    /// <summary>The largest encoded session, in bytes; saving a larger one throws <see cref="SessionPayloadTooLargeException"/>. Default 1 MiB.</summary>
    [Range(64, int.MaxValue, ErrorMessage = "Sessions:MaxPayloadBytes must be at least {1}.")]
    public int MaxPayloadBytes { get; set; } = 1024 * 1024;

    /// <summary>What happens when two requests change the same session at once. Default <see cref="Sessions.ConcurrencyMode.Merge"/>.</summary>
    [EnumDataType(typeof(ConcurrencyMode), ErrorMessage = "Sessions:ConcurrencyMode must be Merge, LastWriteWins or Fail.")]
    public ConcurrencyMode ConcurrencyMode { get; set; } = ConcurrencyMode.Merge;

    /// <summary>How many times a save is retried after a version conflict before giving up. Default 8.</summary>
    [Range(0, 100, ErrorMessage = "Sessions:MaxConflictRetries must be between {1} and {2}.")]
    public int MaxConflictRetries { get; set; } = 8;

    /// <summary>
    /// The wait before the second retry of a conflicting save, doubled for each further retry up to
    /// <see cref="MaxConflictRetryDelay"/>; each wait is drawn at random between a quarter of that bound and the bound
    /// ("jittered exponential backoff"), so app instances that write one session at once stop colliding in lockstep. The
    /// first retry does not wait: within one process, commits of a session queue on a lock, so a first conflict needs only
    /// a reload. Default 2 ms; 0 to 1 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01", ErrorMessage = "Sessions:ConflictRetryDelay must be between 0 and 1 second.")]
    public TimeSpan ConflictRetryDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>The longest wait between retries of a conflicting save (see <see cref="ConflictRetryDelay"/>). Default 50 ms; 0 to 10 s, at least <see cref="ConflictRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ErrorMessage = "Sessions:MaxConflictRetryDelay must be between 0 and 10 seconds.")]
    public TimeSpan MaxConflictRetryDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long the old ID stays recognisable after <see cref="Engine.SessionData.Regenerate"/> (sign-in): the regenerate
    /// replaces the old record with a short-lived "moved" tombstone (no data, no pointer to the new ID) instead of deleting
    /// it, so a request that was sent with the old cookie and arrives after the sign-in is answered as a lost race (409
    /// Conflict, in every <see cref="ConcurrencyMode"/>) instead of starting a new, empty session whose cookie would
    /// replace the signed-in one (logging the user out). After this time a request with the old ID is an unknown ID again.
    /// Default 10 s; more than 0 and at most 1 hour; a lifetime longer than <see cref="IdleTimeout"/> is cut to it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.0000001", "01:00:00", ErrorMessage = "Sessions:MovedIdLifetime must be more than 0 and at most 1 hour.")]
    public TimeSpan MovedIdLifetime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>What a request sees while the backend is unavailable. Default <see cref="Sessions.FailureMode.Throw"/>.</summary>
    [EnumDataType(typeof(FailureMode), ErrorMessage = "Sessions:FailureMode must be Throw or Continue.")]
    public FailureMode FailureMode { get; set; } = FailureMode.Throw;

    /// <summary>
    /// The longest one backend call (a read, write, delete or touch) may take, in real time. When it passes, the call is
    /// abandoned and the request fails as in an outage (503 with <see cref="Sessions.FailureMode.Throw"/>); a request never
    /// waits longer than this for the store, whether it is stopped (<c>SIGSTOP</c>), recovering or unreachable. The
    /// request's own cancellation still cancels the call at once. Default 1 s; 10 ms to 10 minutes. Set it above the
    /// store's usual worst latency: a write abandoned by the timeout may still have been applied.
    /// </summary>
    /// <remarks>Runs on the system clock even when the app registers another <see cref="TimeProvider"/>: a hung store hangs in real time.</remarks>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "Sessions:OperationTimeout must be between 10 ms and 10 minutes.")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The circuit breaker in front of the backend: once most calls fail, the store is treated as down and calls fail at
    /// once (503) instead of each waiting for <see cref="OperationTimeout"/>; one call every
    /// <see cref="SessionCircuitBreakerOptions.BreakDuration"/> (default 500 ms) probes it, so sessions are served again
    /// within about that long of the store's return, whatever the outage's length.
    /// </summary>
    [Required(ErrorMessage = "Sessions:CircuitBreaker must not be null; set Sessions:CircuitBreaker:Enabled to false to turn it off.")]
    [ValidateObjectMembers]
    public SessionCircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>Whether new sessions get a persistent cookie (one that survives a browser restart). Default <see langword="false"/>.</summary>
    public bool PersistentByDefault { get; set; }

    /// <summary>
    /// Keys for signing session IDs with HMAC-SHA256, base64-encoded, each at least 32 bytes. The first key signs, every key
    /// verifies, so keys can be rotated by adding a new one at the front. Empty (the default): IDs are not signed.
    /// </summary>
    public IList<string> SigningKeys { get; } = [];

    /// <summary>The session cookie's name and attributes.</summary>
    [Required(ErrorMessage = "Sessions:Cookie must not be null.")]
    [ValidateObjectMembers]
    public SessionCookieOptions Cookie { get; set; } = new();

    /// <summary>
    /// Request path prefixes that never get a session (no backend call, <c>HttpContext.Session</c> unavailable), for example
    /// <c>/health</c> or <c>/static</c>. Endpoints can opt out individually with <c>.WithoutSession()</c>.
    /// </summary>
    public IList<string> ExcludedPaths { get; } = [];

    /// <summary>
    /// How often expired sessions are purged, for backends without native expiry (FileSystem, SQL); <see langword="null"/>
    /// switches the background purge off. Default 5 minutes.
    /// </summary>
    public TimeSpan? PurgeInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The most sessions one user may have at once (concurrent session control); <see langword="null"/> (the default) for
    /// no limit. Counted on the generic user index, so it holds on every backend and across app instances, also when one
    /// user signs in from many clients at the same moment. What happens at the cap: <see cref="SessionLimitMode"/>.
    /// 1 to 500 (the user index's size). Cost: a sign-in of a user at the cap reads each of the user's sessions once.
    /// </summary>
    [Range(1, UserSessionIndex.MaxMembers, ErrorMessage = "Sessions:MaxSessionsPerUser must be between {1} and {2} when set; leave it unset for no limit.")]
    public int? MaxSessionsPerUser { get; set; }

    /// <summary>
    /// What binding a session to a user at <see cref="MaxSessionsPerUser"/> does: revoke the user's least recently used
    /// session (the default) or refuse the binding with <see cref="SessionLimitExceededException"/>.
    /// </summary>
    [EnumDataType(typeof(SessionLimitMode), ErrorMessage = "Sessions:SessionLimitMode must be RevokeLeastRecentlyUsed or Refuse.")]
    public SessionLimitMode SessionLimitMode { get; set; } = SessionLimitMode.RevokeLeastRecentlyUsed;

    /// <summary>The touch threshold in force: <see cref="TouchAfter"/>, capped at half of <see cref="IdleTimeout"/>.</summary>
    public TimeSpan EffectiveTouchAfter => TouchAfter < IdleTimeout / 2 ? TouchAfter : IdleTimeout / 2;
}

/// <summary>What to do when two requests change the same session concurrently.</summary>
/// <remarks>
/// Whatever the mode, a request whose session another request destroyed or regenerated while it ran (a lost race with
/// sign-out or sign-in) cannot save its changes: they are dropped rather than written to the new session through the old
/// ID or used to bring the old one back, and the middleware answers 409 Conflict, leaving the client's cookie alone. So does
/// a request that arrives with an ID regenerated within <see cref="SessionOptions.MovedIdLifetime"/>, at its first use of the session.
/// </remarks>
public enum ConcurrencyMode
{
    /// <summary>Reload the stored session, re-apply this request's own changes key by key, and save again.</summary>
    Merge = 0,

    /// <summary>This request's whole session replaces what another request saved meanwhile.</summary>
    LastWriteWins = 1,

    /// <summary>The save fails with <see cref="SessionConflictException"/> (HTTP 409 from the middleware).</summary>
    Fail = 2,
}

/// <summary>What a request sees when the session backend is unavailable.</summary>
public enum FailureMode
{
    /// <summary>The request fails with 503 and a clear message; nothing is half-written.</summary>
    Throw = 0,

    /// <summary>The request continues with an empty, read-only session; its writes are dropped and a warning is logged.</summary>
    Continue = 1,
}
