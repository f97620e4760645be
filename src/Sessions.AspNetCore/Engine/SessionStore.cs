using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sessions.Backends;
using Sessions.Envelope;
using Sessions.Events;
using Sessions.Ids;

namespace Sessions.Engine;

/// <summary>
/// The engine: turns IDs into storage keys, loads and classifies sessions (hit, miss, expired, moved, corrupt), enforces
/// idle and absolute expiry, and commits changes with the configured concurrency mode, one commit of a session at a time
/// in this process. Every backend call goes through one instrumented accessor; the commit, the regenerate's move,
/// conflicts and the user binding are collaborators built here.
/// </summary>
public sealed class SessionStore
{
    private readonly SessionOptions _options;
    private readonly ISessionIdGenerator _ids;
    private readonly TimeProvider _time;
    private readonly SessionKeyBuilder _keys;
    private readonly BackendAccessor _backend;
    private readonly SessionRecords _records;
    private readonly LifecycleEvents _events;
    private readonly UserSessionIndex _index;
    private readonly ConflictResolver _conflicts;
    private readonly SessionCommit _commit;

    /// <summary>Creates the engine.</summary>
    /// <param name="backend">Where sessions are stored.</param>
    /// <param name="options">Validated session options.</param>
    /// <param name="backendName">The backend's name for metrics, traces and logs.</param>
    /// <param name="idGenerator">Creates session IDs; <see langword="null"/> for the CSPRNG generator sized by <see cref="SessionOptions.IdLengthBytes"/>.</param>
    /// <param name="timeProvider">The clock; <see langword="null"/> for the system clock.</param>
    /// <param name="logger">Receives the engine's log messages.</param>
    /// <exception cref="ArgumentException">The options are invalid, or <see cref="SessionOptions.ProtectPayloads"/> is on (this overload has no Data Protection to protect with).</exception>
    public SessionStore(
        ISessionBackend backend,
        SessionOptions options,
        string backendName = "custom",
        ISessionIdGenerator? idGenerator = null,
        TimeProvider? timeProvider = null,
        ILogger<SessionStore>? logger = null)
        : this(backend, options, backendName, idGenerator, timeProvider, logger, null)
    {
    }

    /// <summary>Creates the engine, with Data Protection for <see cref="SessionOptions.ProtectPayloads"/>.</summary>
    /// <param name="backend">Where sessions are stored.</param>
    /// <param name="options">Validated session options.</param>
    /// <param name="backendName">The backend's name for metrics, traces and logs.</param>
    /// <param name="idGenerator">Creates session IDs; <see langword="null"/> for the CSPRNG generator sized by <see cref="SessionOptions.IdLengthBytes"/>.</param>
    /// <param name="timeProvider">The clock; <see langword="null"/> for the system clock.</param>
    /// <param name="logger">Receives the engine's log messages; <see langword="null"/> for none.</param>
    /// <param name="dataProtectionProvider">
    /// Protects records when <see cref="SessionOptions.ProtectPayloads"/> is on, and reads protected records either way;
    /// <see langword="null"/> when the app has no Data Protection (then protected records read as corrupt).
    /// </param>
    /// <exception cref="ArgumentException">The options are invalid, or <see cref="SessionOptions.ProtectPayloads"/> is on and <paramref name="dataProtectionProvider"/> is <see langword="null"/>.</exception>
    public SessionStore(
        ISessionBackend backend,
        SessionOptions options,
        string backendName,
        ISessionIdGenerator? idGenerator,
        TimeProvider? timeProvider,
        ILogger<SessionStore>? logger,
        IDataProtectionProvider? dataProtectionProvider)
        : this(backend, options, backendName, idGenerator, timeProvider, logger, dataProtectionProvider, validateOptions: true)
    {
    }

    /// <summary>Creates the engine; <paramref name="validateOptions"/> is false when start-up has validated them already (dependency injection).</summary>
    internal SessionStore(ISessionBackend backend, SessionOptions options, string backendName, ISessionIdGenerator? idGenerator,
        TimeProvider? timeProvider, ILogger<SessionStore>? logger, IDataProtectionProvider? dataProtectionProvider, bool validateOptions)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(backendName);
        if (validateOptions && new SessionOptionsValidator().Validate(null, options) is { Failed: true } validation)
        {
            throw new ArgumentException(validation.FailureMessage, nameof(options));
        }

        _options = options;
        _ids = idGenerator ?? new SessionIdGenerator(options.IdLengthBytes);
        _time = timeProvider ?? TimeProvider.System;
        Logger = logger ?? (ILogger)NullLogger.Instance;
        _keys = new SessionKeyBuilder(options.KeyPrefix, options.HashIdsAtRest);
        _backend = new BackendAccessor(backend, backendName, options, Logger);
        var codec = new PayloadCodec(options, (backend as ISessionBackendLimits)?.MaxPayloadBytes, backendName, dataProtectionProvider, Logger, _time);
        _records = new SessionRecords(_backend, codec, _time);
        _events = new LifecycleEvents(_keys, _time);
        _index = new UserSessionIndex(_backend, _keys, _time, options.IdleTimeout);
        var cap = new UserSessionCap(options, _index, _backend, _records, _time, Logger);
        var binding = new UserBinding(options, _keys, _backend, _index, cap, _events, Logger);
        _conflicts = new ConflictResolver(options, _backend, _records, Logger);
        var regeneration = new SessionRegeneration(options, _backend, _records, _conflicts, BackgroundWork, _time, Logger);
        _commit = new SessionCommit(options, _keys, _backend, _records, _events, binding, _conflicts, regeneration, _time, Logger);
    }

    /// <summary>The backend's name, as registered.</summary>
    public string BackendName => _backend.Name;

    /// <summary>The backend sessions are stored in.</summary>
    public ISessionBackend Backend => _backend.Backend;

    /// <summary>The options in force.</summary>
    public SessionOptions Options => _options;

    /// <summary>Builds storage keys for sessions and user indexes.</summary>
    public SessionKeyBuilder Keys => _keys;

    /// <summary>The one way to the backend (timeouts, breakers, tracing, metrics, error wrapping).</summary>
    internal BackendAccessor Accessor => _backend;

    /// <summary>Session records: encoding, decoding (corrupt records reported), liveness.</summary>
    internal SessionRecords Records => _records;

    /// <summary>The lifecycle events the engine raises.</summary>
    internal LifecycleEvents Lifecycle => _events;

    /// <summary>The registered <see cref="ISessionEvents"/> handlers; none unless set by dependency injection.</summary>
    internal SessionEventDispatcher Events
    {
        get => _events.Dispatcher;
        set => _events.Dispatcher = value;
    }

    /// <summary>The engine's work that outlives a request; the host stops it (registered as a hosted service).</summary>
    internal BackgroundWork BackgroundWork { get; } = new();

    internal ILogger Logger { get; }

    internal bool PersistentByDefault => _options.PersistentByDefault;

    internal UserSessionIndex Index => _index;

    /// <summary>The per-session commit locks of this process (for tests: empty when no commit is running).</summary>
    internal KeyedAsyncLock CommitLocks { get; } = new();

    /// <summary>Starts a new, empty session; nothing is stored until it is committed with data in it.</summary>
    /// <returns>The session.</returns>
    public SessionData CreateNew()
    {
        var now = _time.GetUtcNow();
        return new SessionData(this, null, now, DeadlineFor(now), _options.PersistentByDefault);
    }

    /// <summary>Loads a session by ID.</summary>
    /// <param name="sessionId">The session ID (already verified if IDs are signed).</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>
    /// The session, or <see langword="null"/> when the ID is malformed or unknown, the session expired or cannot be decoded,
    /// or the ID was regenerated (moved to a new ID) within <see cref="SessionOptions.MovedIdLifetime"/>.
    /// </returns>
    /// <exception cref="SessionBackendException">The backend failed.</exception>
    public async ValueTask<SessionData?> LoadAsync(string sessionId, CancellationToken cancellationToken) =>
        (await LoadOrMovedAsync(sessionId, cancellationToken).ConfigureAwait(false)).Session;

    /// <summary>
    /// Loads a session by ID, telling a moved ID (regenerated by another request within <see cref="SessionOptions.MovedIdLifetime"/>)
    /// apart from an unknown one: the middleware answers a request with a moved ID as a lost race, not as a new visitor.
    /// </summary>
    internal async ValueTask<(SessionData? Session, bool Moved)> LoadOrMovedAsync(string sessionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        if (!_ids.IsWellFormed(sessionId) || _keys.ForSession(sessionId) is not { } key)
        {
            return (null, false);
        }

        var record = await _backend.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            _backend.CountLoad("miss");
            return (null, false);
        }

        var now = _time.GetUtcNow();
        if (record.ExpiresAt <= now)
        {
            _backend.CountLoad("expired");
            await OnFoundExpiredAsync(key, record, null, cancellationToken).ConfigureAwait(false);
            return (null, false);
        }

        if (EnvelopeCodec.IsTombstone(record.Payload.Span))
        {
            _backend.CountLoad("moved");
            return (null, true);
        }

        if (!_records.TryDecodeQuietly(record, out var envelope))
        {
            _records.ReportCorrupt(key, record);
            return (null, false);
        }

        if (envelope.AbsoluteDeadline is { } deadline && deadline <= now)
        {
            _backend.CountLoad("expired");
            await OnFoundExpiredAsync(key, record, envelope.UserId, cancellationToken).ConfigureAwait(false);
            return (null, false);
        }

        _backend.CountLoad("hit");
        return (new SessionData(this, sessionId, key, envelope, record.Version, record.ExpiresAt) { StoredToken = record.ConcurrencyToken }, false);
    }

    /// <summary>Writes what changed in <paramref name="session"/>: creates, saves, touches or deletes its record.</summary>
    /// <param name="session">The session, as loaded or created and then changed by the request.</param>
    /// <param name="cancellationToken">Cancels the commit.</param>
    /// <returns>What was done.</returns>
    /// <exception cref="SessionConflictException">Another request changed the session and the mode is <see cref="ConcurrencyMode.Fail"/>, or retries ran out.</exception>
    /// <exception cref="SessionPayloadTooLargeException">The encoded session exceeds <see cref="SessionOptions.MaxPayloadBytes"/>.</exception>
    /// <exception cref="SessionBackendException">The backend failed.</exception>
    public async ValueTask<SessionCommitResult> CommitAsync(SessionData session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (!_events.Enabled)
        {
            return await CommitLockedAsync(session, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await CommitLockedAsync(session, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Lifecycle events of what this commit did store, after the commit, whether or not it then failed.
            await _events.RaisePendingAsync(session).ConfigureAwait(false);
        }
    }

    private async ValueTask<SessionCommitResult> CommitLockedAsync(SessionData session, CancellationToken cancellationToken)
    {
        if (!session.IsModified && session.IdsToDelete.Count == 0)
        {
            return await _commit.UnchangedAsync(session, cancellationToken).ConfigureAwait(false);
        }

        // Commits of one session queue within this process: the second waits for the first and then saves on top of
        // it, instead of racing it to the store and spending its conflict retries there. Other instances still race;
        // the conditional write and the jittered retries handle them.
        var lockKey = LockKeyFor(session);
        if (lockKey is null)
        {
            return await _commit.WriteAsync(session, cancellationToken).ConfigureAwait(false);
        }

        using (await CommitLocks.AcquireAsync(lockKey, cancellationToken).ConfigureAwait(false))
        {
            return await _commit.WriteAsync(session, cancellationToken).ConfigureAwait(false);
        }
    }

    // The stored session a commit writes or deletes: its key, or null for a session that was never stored.
    private string? LockKeyFor(SessionData session)
    {
        if (session.StoredKey is { } key)
        {
            return key;
        }

        if (session.StoredId is { } stored)
        {
            return _keys.ForSession(stored);
        }

        var deleted = session.IdsToDelete;
        return deleted.Count > 0 ? _keys.ForSession(deleted[0].Id) : null;
    }

    /// <summary>Deletes a session by ID, whatever its state.</summary>
    /// <param name="sessionId">The session ID.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns>Whether a live session was deleted (a "moved" tombstone left by a regenerate is removed too, but is not one).</returns>
    public async ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        if (!_ids.IsWellFormed(sessionId) || _keys.ForSession(sessionId) is not { } key)
        {
            return false;
        }

        return await DeleteByKeyAsync(key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the session stored under <paramref name="key"/> and its entry in its user's index.</summary>
    internal async ValueTask<bool> DeleteByKeyAsync(string key, CancellationToken cancellationToken)
    {
        var record = await _backend.GetAsync(key, cancellationToken).ConfigureAwait(false);
        var removed = await _backend.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
        string? user = null;
        if (record is not null && _records.TryDecodeQuietly(record, out var envelope) && envelope.UserId is { } bound)
        {
            user = bound;
            await _index.RemoveAsync(bound, key, cancellationToken).ConfigureAwait(false);
        }

        var live = removed && !(record is not null && EnvelopeCodec.IsTombstone(record.Payload.Span));
        if (live)
        {
            await _events.RaiseRevokedAsync(key, user).ConfigureAwait(false);
        }

        return live;
    }

    internal string NewId() => _ids.CreateId();

    /// <summary>The non-secret handle of a session ID (what <c>ISession.Id</c> and <see cref="ISessionManager"/> show).</summary>
    internal string HandleFor(string sessionId) => _keys.ForSession(sessionId) is { } key ? UserSessionIndex.HandleFor(key) : string.Empty;

    internal DateTimeOffset UtcNow() => _time.GetUtcNow();

    internal DateTimeOffset? DeadlineFor(DateTimeOffset createdAt) => _options.AbsoluteTimeout is { } absolute ? createdAt + absolute : null;

    /// <summary>The wait before the retry after the <paramref name="attempt"/>-th conflict (see <see cref="ConflictResolver.Backoff"/>).</summary>
    internal TimeSpan ConflictBackoff(int attempt) => _conflicts.Backoff(attempt);

    /// <summary>Decodes a record; a tombstone is no session, anything else unreadable is reported as corrupt.</summary>
    internal bool TryDecode(SessionRecord record, string key, [NotNullWhen(true)] out SessionEnvelope? envelope) => _records.TryDecode(record, key, out envelope);

    // A request presented a session the store still holds but that has expired: remove it, and report it if this request did.
    private async ValueTask OnFoundExpiredAsync(string key, SessionRecord record, string? userId, CancellationToken cancellationToken)
    {
        // A regenerate's expired "moved" tombstone is no session: nothing to report.
        if (!_events.Enabled || EnvelopeCodec.IsTombstone(record.Payload.Span))
        {
            return;
        }

        if (await _backend.RemoveAsync(key, record.Version, cancellationToken).ConfigureAwait(false))
        {
            if (userId is null && _records.TryDecodeQuietly(record, out var envelope))
            {
                userId = envelope.UserId;
            }

            if (userId is not null)
            {
                await _index.RemoveAsync(userId, key, cancellationToken).ConfigureAwait(false);
            }

            await _events.RaiseAsync(new SessionExpiredEvent(UserSessionIndex.HandleFor(key), userId, SessionExpiryDetection.FoundByRequest, 1, _time.GetUtcNow())).ConfigureAwait(false);
        }
    }
}
