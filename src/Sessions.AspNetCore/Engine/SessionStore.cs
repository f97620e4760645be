using System.Diagnostics;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly.CircuitBreaker;
using Polly.Timeout;
using Sessions.Backends;
using Sessions.Diagnostics;
using Sessions.Envelope;
using Sessions.Ids;

namespace Sessions.Engine;

/// <summary>
/// The engine, and the only code that talks to a backend: turns IDs into storage keys, loads and decodes sessions,
/// enforces idle and absolute expiry, and commits changes with the configured concurrency mode.
/// </summary>
public sealed partial class SessionStore
{
    private readonly ISessionBackend _backend;
    private readonly SessionOptions _options;
    private readonly ISessionIdGenerator _ids;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SessionKeyBuilder _keys;
    private readonly KeyValuePair<string, object?> _backendTag;
    private readonly TimeSpan _touchAfter;
    private readonly UserSessionIndex _index;
    private readonly int? _backendMaxPayloadBytes;
    private readonly BackendGuard _guard;
    private readonly KeyedAsyncLock _commitLocks = new();
    private readonly PayloadCodec _codec;

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
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(backendName);
        var validation = new SessionOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new ArgumentException(validation.FailureMessage, nameof(options));
        }

        _backend = backend;
        _options = options;
        BackendName = backendName;
        _ids = idGenerator ?? new SessionIdGenerator(options.IdLengthBytes);
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _keys = new SessionKeyBuilder(options.KeyPrefix, options.HashIdsAtRest);
        _backendTag = new("sessions.backend", backendName);
        _touchAfter = options.EffectiveTouchAfter;
        _index = new UserSessionIndex(this);
        _backendMaxPayloadBytes = (backend as ISessionBackendLimits)?.MaxPayloadBytes;
        _guard = new BackendGuard(options, backendName, _logger, partitions: backend as ISessionBackendPartitions);
        _codec = new PayloadCodec(options, _backendMaxPayloadBytes, backendName, dataProtectionProvider, _logger, _time);
    }

    /// <summary>The backend's name, as registered.</summary>
    public string BackendName { get; }

    /// <summary>The backend sessions are stored in.</summary>
    public ISessionBackend Backend => _backend;

    /// <summary>The options in force.</summary>
    public SessionOptions Options => _options;

    /// <summary>Builds storage keys for sessions and user indexes.</summary>
    public SessionKeyBuilder Keys => _keys;

    internal bool PersistentByDefault => _options.PersistentByDefault;

    internal UserSessionIndex Index => _index;

    /// <summary>The per-session commit locks of this process (for tests: empty when no commit is running).</summary>
    internal KeyedAsyncLock CommitLocks => _commitLocks;

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

        var record = await GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            CountLoad("miss");
            return (null, false);
        }

        var now = _time.GetUtcNow();
        if (record.ExpiresAt <= now)
        {
            CountLoad("expired");
            await OnFoundExpiredAsync(key, record, null, cancellationToken).ConfigureAwait(false);
            return (null, false);
        }

        if (EnvelopeCodec.IsTombstone(record.Payload.Span))
        {
            CountLoad("moved");
            return (null, true);
        }

        if (!_codec.TryDecode(record.Payload.Span, out var envelope))
        {
            ReportCorrupt(key, record);
            return (null, false);
        }

        if (envelope.AbsoluteDeadline is { } deadline && deadline <= now)
        {
            CountLoad("expired");
            await OnFoundExpiredAsync(key, record, envelope.UserId, cancellationToken).ConfigureAwait(false);
            return (null, false);
        }

        CountLoad("hit");
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
        if (!Events.Enabled)
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
            await RaisePendingAsync(session).ConfigureAwait(false);
        }
    }

    private async ValueTask<SessionCommitResult> CommitLockedAsync(SessionData session, CancellationToken cancellationToken)
    {
        if (!session.IsModified && session.IdsToDelete.Count == 0)
        {
            return session.StoredVersion is null
                ? new(SessionCommitOutcome.Unchanged, null)
                : await TouchIfDueAsync(session, cancellationToken).ConfigureAwait(false);
        }

        // Commits of one session queue within this process: the second waits for the first and then saves on top of
        // it, instead of racing it to the store and spending its conflict retries there. Other instances still race;
        // the conditional write and the jittered retries handle them.
        var lockKey = LockKeyFor(session);
        if (lockKey is null)
        {
            return await CommitUnlockedAsync(session, cancellationToken).ConfigureAwait(false);
        }

        using (await _commitLocks.AcquireAsync(lockKey, cancellationToken).ConfigureAwait(false))
        {
            return await CommitUnlockedAsync(session, cancellationToken).ConfigureAwait(false);
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

    private async ValueTask<SessionCommitResult> CommitUnlockedAsync(SessionData session, CancellationToken cancellationToken)
    {
        var deleted = false;
        foreach (var (id, userId) in session.IdsToDelete)
        {
            var key = KeyFor(id);
            if (await RemoveAsync(key, null, cancellationToken).ConfigureAwait(false))
            {
                OnDestroyedByUser(session, key, userId);
            }

            if (userId is not null)
            {
                await _index.RemoveAsync(userId, key, cancellationToken).ConfigureAwait(false);
            }

            deleted = true;
        }

        if (!session.IsModified)
        {
            if (deleted)
            {
                session.MarkDeleted();
                return new(SessionCommitOutcome.Deleted, null);
            }

            return session.StoredVersion is null
                ? new(SessionCommitOutcome.Unchanged, null)
                : await TouchIfDueAsync(session, cancellationToken).ConfigureAwait(false);
        }

        if (session.RegeneratedFrom is not null)
        {
            return await CommitRegeneratedAsync(session, cancellationToken).ConfigureAwait(false);
        }

        if (session.StoredVersion is null)
        {
            if (session.IsEmpty)
            {
                session.MarkDeleted();
                return new(deleted ? SessionCommitOutcome.Deleted : SessionCommitOutcome.Unchanged, null);
            }

            return await CreateAsync(session, cancellationToken).ConfigureAwait(false);
        }

        return await UpdateAsync(session, cancellationToken).ConfigureAwait(false);
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
        var record = await GetAsync(key, cancellationToken).ConfigureAwait(false);
        var removed = await RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
        string? user = null;
        if (record is not null && _codec.TryDecode(record.Payload.Span, out var envelope) && envelope.UserId is { } bound)
        {
            user = bound;
            await _index.RemoveAsync(bound, key, cancellationToken).ConfigureAwait(false);
        }

        var live = removed && !(record is not null && EnvelopeCodec.IsTombstone(record.Payload.Span));
        if (live)
        {
            await RaiseAsync(new SessionDestroyedEvent(UserSessionIndex.HandleFor(key), user, SessionDestroyReason.Revoked, _time.GetUtcNow())).ConfigureAwait(false);
        }

        return live;
    }

    internal string NewId() => _ids.CreateId();

    /// <summary>The non-secret handle of a session ID (what <c>ISession.Id</c> and <see cref="ISessionManager"/> show).</summary>
    internal string HandleFor(string sessionId) => _keys.ForSession(sessionId) is { } key ? UserSessionIndex.HandleFor(key) : string.Empty;

    internal DateTimeOffset UtcNow() => _time.GetUtcNow();

    internal DateTimeOffset? DeadlineFor(DateTimeOffset createdAt) => _options.AbsoluteTimeout is { } absolute ? createdAt + absolute : null;

    private DateTimeOffset ExpiryFor(SessionData session, DateTimeOffset now)
    {
        var idle = now + _options.IdleTimeout;
        return session.AbsoluteDeadline is { } deadline && deadline < idle ? deadline : idle;
    }

    private string KeyFor(string sessionId) =>
        _keys.ForSession(sessionId) ?? throw new InvalidOperationException("The session ID cannot form a storage key; with HashIdsAtRest off, IDs must be printable ASCII and short enough for a 250-byte key.");

    // The key of the stored record, as computed when it was loaded or last stored (hashing the ID again costs a SHA-256).
    private string StoredKeyFor(SessionData session) => session.StoredKey ?? KeyFor(session.StoredId!);

    private async ValueTask<SessionCommitResult> TouchIfDueAsync(SessionData session, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var expiresAt = ExpiryFor(session, now);
        if (expiresAt <= now || expiresAt - session.StoredExpiresAt!.Value < _touchAfter || (expiresAt == session.StoredExpiresAt && _touchAfter == TimeSpan.Zero))
        {
            return new(SessionCommitOutcome.Unchanged, session.StoredExpiresAt);
        }

        var key = StoredKeyFor(session);
        if (await TouchAsync(key, expiresAt, cancellationToken).ConfigureAwait(false))
        {
            // A touch is unconditional, so it also succeeds on a regenerate's tombstone (a sign-in that ran since this
            // request loaded). A persistent session's touch re-sends the cookie, which would replace the sign-in's new one:
            // check that the record is still the session first (one read, at most once per TouchAfter).
            if (session.IsPersistent && await IsGoneAsync(key, cancellationToken).ConfigureAwait(false))
            {
                await GoneAsync(session, key, cancellationToken).ConfigureAwait(false);
                return new(SessionCommitOutcome.Gone, null);
            }

            session.MarkTouched(expiresAt);
            if (session.UserId is { } user && !await KeepBindingAsync(session, user, key, checkIndex: true, cancellationToken).ConfigureAwait(false))
            {
                return new(SessionCommitOutcome.Gone, null);
            }

            return new(SessionCommitOutcome.Touched, expiresAt);
        }

        await GoneAsync(session, key, cancellationToken).ConfigureAwait(false);
        return new(SessionCommitOutcome.Gone, null);
    }

    /// <summary>
    /// Stores a new session (or a regenerated one under its new ID). When the commit of a signed-in or regenerated session
    /// fails after it began writing (the store failed or timed out, or the cap refused the binding), it undoes what it may
    /// have written, best effort: the new ID's record (no client holds that ID yet) and its index entry.
    /// </summary>
    private async ValueTask<SessionCommitResult> CreateAsync(SessionData session, CancellationToken cancellationToken)
    {
        const int Attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var now = _time.GetUtcNow();
            var expiresAt = ExpiryFor(session, now);
            var payload = Encode(session);
            var record = new SessionRecord(payload, expiresAt, 1);
            var key = KeyFor(session.Id);

            // Index first: the index may list a session that failed to save (pruned when read), never miss one that exists.
            // A regenerated session of the same user takes its old ID's place in the index, so it keeps its rank.
            var boundAt = now;
            var user = session.UserId;
            var replacing = user is not null && string.Equals(session.StoredUserId, user, StringComparison.Ordinal) ? ReplacedKey(session) : null;
            if (user is not null)
            {
                await BeforeBindAsync(session, user, key, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                if (user is not null)
                {
                    boundAt = _time.GetUtcNow();
                    await _index.AddAsync(user, new UserIndexMember(key, session.CreatedAt, session.ClientDescription, boundAt), cancellationToken, replacing).ConfigureAwait(false);
                }

                if (await SetAsync(key, record, SetCondition.IfAbsent, cancellationToken).ConfigureAwait(false))
                {
                    OnStored(session, key);
                    if (user is not null && await AfterBindAsync(session, user, key, boundAt, cancellationToken).ConfigureAwait(false))
                    {
                        // Refused by the cap (Refuse mode): as if refused up front (the catch below undoes the writes).
                        throw Cap.Exceeded(user, _options.MaxSessionsPerUser!.Value);
                    }

                    session.MarkStored(1, expiresAt, key);
                    return new(SessionCommitOutcome.Created, expiresAt);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException && (user is not null || session.RegeneratedFrom is not null))
            {
                // An anonymous new session that failed is left alone: no client holds its ID and nothing counts it, so a
                // record that landed anyway only waits for its expiry, and a failing store is not asked again.
                await UndoCreateAsync(session, user, key, replacing).ConfigureAwait(false);
                throw;
            }

            Log.IdCollision(_logger);
            if (attempt == Attempts)
            {
                throw new SessionException($"Could not store a new session: {Attempts} freshly generated IDs were all taken. The ID generator is not producing random IDs.");
            }

            session.ReplaceNewId();
        }
    }

    /// <summary>
    /// After a failed create: removes the new ID's record (a write that timed out may still have landed) and its index
    /// entry (a same-user regenerate's old ID gets its place back), and forgets the events of the create. Best effort:
    /// a store that still fails leaves a record no client holds (it expires) and an index entry (pruned when read).
    /// </summary>
    private async ValueTask UndoCreateAsync(SessionData session, string? user, string key, string? replacing)
    {
        var handle = UserSessionIndex.HandleFor(key);
        session.PendingEvents?.RemoveAll(e => (e is SessionCreatedEvent c && c.Handle == handle) || (e is SessionRegeneratedEvent r && r.NewHandle == handle));
        try
        {
            // Not the request's token: an aborted request still cleans up, and each call is bounded by OperationTimeout.
            await RemoveAsync(key, null, CancellationToken.None).ConfigureAwait(false);
            if (user is null)
            {
                return;
            }

            if (replacing is not null)
            {
                await _index.ReplaceAsync(user, key, new UserIndexMember(replacing, session.CreatedAt, session.ClientDescription, _time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await _index.RemoveAsync(user, key, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SessionBackendException or SessionConflictException)
        {
            Log.UndoFailed(_logger, ex.Message);
        }
    }

    private async ValueTask<SessionCommitResult> UpdateAsync(SessionData session, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var key = StoredKeyFor(session);
            var now = _time.GetUtcNow();
            var expiresAt = ExpiryFor(session, now);
            var version = session.StoredVersion!.Value;
            var storedUser = session.StoredUserId;
            if (session.IsEmpty || expiresAt <= now)
            {
                if (await RemoveAsync(key, version, cancellationToken).ConfigureAwait(false))
                {
                    if (session.IsEmpty)
                    {
                        OnDestroyedByUser(session, key, storedUser);
                    }

                    if (storedUser is not null)
                    {
                        await _index.RemoveAsync(storedUser, key, cancellationToken).ConfigureAwait(false);
                    }

                    session.MarkDeleted();
                    return new(SessionCommitOutcome.Deleted, null);
                }
            }
            else
            {
                var payload = Encode(session);
                var record = new SessionRecord(payload, expiresAt, version + 1);
                var user = session.UserId;
                var userChanged = !string.Equals(user, storedUser, StringComparison.Ordinal);
                var boundAt = now;
                SessionRecord? before = null;
                if (user is not null && userChanged)
                {
                    await BeforeBindAsync(session, user, key, cancellationToken).ConfigureAwait(false);
                    if (RefusesBeyondCap)
                    {
                        // Kept to put back if the cap refuses this binding after the write.
                        before = await GetAsync(key, cancellationToken).ConfigureAwait(false);
                    }

                    boundAt = _time.GetUtcNow();
                    await _index.AddAsync(user, new UserIndexMember(key, session.CreatedAt, session.ClientDescription, boundAt), cancellationToken).ConfigureAwait(false);
                }

                var previousExpiry = session.StoredExpiresAt;
                if (await SetAsync(key, record, SetCondition.IfVersion(version, session.StoredToken), cancellationToken).ConfigureAwait(false))
                {
                    if (user is not null && userChanged && await AfterBindAsync(session, user, key, boundAt, cancellationToken).ConfigureAwait(false))
                    {
                        // Refused by the cap (Refuse mode): the record goes back to what it was before this binding.
                        await UndoBindingAsync(session, key, before, version + 1, deleteIfNotRestored: true, cancellationToken).ConfigureAwait(false);
                        await _index.RemoveAsync(user, key, cancellationToken).ConfigureAwait(false);
                        throw Cap.Exceeded(user, _options.MaxSessionsPerUser!.Value);
                    }

                    session.MarkStored(version + 1, expiresAt, key);
                    if (storedUser is not null && userChanged)
                    {
                        await _index.RemoveAsync(storedUser, key, cancellationToken).ConfigureAwait(false);
                    }
                    else if (user is not null && !userChanged
                        && !await KeepBindingAsync(session, user, key, IndexCheckDue(previousExpiry, now, session.AbsoluteDeadline), cancellationToken).ConfigureAwait(false))
                    {
                        return new(SessionCommitOutcome.Gone, null);
                    }

                    return new(SessionCommitOutcome.Saved, expiresAt);
                }
            }

            if (!await ResolveConflictAsync(session, key, attempt, cancellationToken).ConfigureAwait(false))
            {
                await GoneAsync(session, key, cancellationToken).ConfigureAwait(false);
                return new(SessionCommitOutcome.Gone, null);
            }
        }
    }

    private async ValueTask<SessionCommitResult> CommitRegeneratedAsync(SessionData session, CancellationToken cancellationToken)
    {
        // The old record is replaced by a short-lived "moved" tombstone, written only if the old record is still the
        // version this request read: a write another request (or app instance) landed on it meanwhile fails the
        // condition, and is then merged according to the mode before the data moves to the new ID, never lost. A record
        // found gone or already moved (a concurrent destroy or regenerate) is not brought back. The tombstone comes first:
        // once it is written, every later write through the old ID fails its condition and sees the session moved.
        var oldKey = KeyFor(session.RegeneratedFrom!);

        // A sign-in refused by the per-user cap must leave the old session as it was: check before the tombstone.
        if (session.UserId is { } binding)
        {
            await BeforeBindAsync(session, binding, KeyFor(session.Id), cancellationToken).ConfigureAwait(false);
        }

        SessionRecord? replaced = null;
        for (var attempt = 0; ; attempt++)
        {
            var version = session.StoredVersion!.Value;
            if (!session.IsEmpty)
            {
                // Kept to put back if the new ID cannot be stored after the tombstone is written (the store failed, or the
                // cap refused the binding), so a failed sign-in never loses the session it started from.
                replaced = await GetAsync(oldKey, cancellationToken).ConfigureAwait(false);
            }

            var tombstone = new SessionRecord(EnvelopeCodec.TombstonePayload.ToArray(), _time.GetUtcNow() + MovedIdLifetime, version + 1);
            bool moved;
            try
            {
                moved = await SetAsync(oldKey, tombstone, SetCondition.IfVersion(version, session.StoredToken), cancellationToken).ConfigureAwait(false);
            }
            catch (SessionBackendException) when (replaced is not null)
            {
                // A write that timed out may still land: then the old ID would be moved to a new one that was never
                // stored. Watch for the tombstone for a while, and put the old record back over it if it turns up.
                RestoreIfTombstoneLands(oldKey, replaced, version + 1);
                throw;
            }

            if (moved)
            {
                break;
            }

            // In Fail mode a conflict throws at once; a session found destroyed or already moved is a lost race instead.
            if ((_options.ConcurrencyMode == ConcurrencyMode.Fail && await IsGoneAsync(oldKey, cancellationToken).ConfigureAwait(false))
                || !await ResolveConflictAsync(session, oldKey, attempt, cancellationToken).ConfigureAwait(false))
            {
                await GoneAsync(session, oldKey, cancellationToken).ConfigureAwait(false);
                return new(SessionCommitOutcome.Gone, null);
            }
        }

        // The old ID leaves the user's index once the new one is stored, except when the same user stays bound: then the
        // new ID takes its place there.
        var oldUser = session.StoredUserId;
        var leavesIndex = oldUser is not null && (session.IsEmpty || !string.Equals(oldUser, session.UserId, StringComparison.Ordinal));
        if (session.IsEmpty)
        {
            if (leavesIndex)
            {
                await _index.RemoveAsync(oldUser!, oldKey, cancellationToken).ConfigureAwait(false);
            }

            session.MarkDeleted();
            return new(SessionCommitOutcome.Deleted, null);
        }

        SessionCommitResult created;
        try
        {
            created = await CreateAsync(session, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await UndoTombstoneAsync(session, oldKey, replaced).ConfigureAwait(false);
            throw;
        }

        if (leavesIndex)
        {
            await _index.RemoveAsync(oldUser!, oldKey, cancellationToken).ConfigureAwait(false);
        }

        return created;
    }

    // Whether a binding can be refused after its write: a cap in Refuse mode.
    private bool RefusesBeyondCap => _options.MaxSessionsPerUser is not null && _options.SessionLimitMode == SessionLimitMode.Refuse;

    /// <summary>
    /// After a regenerate's new ID could not be stored: puts the old record back in place of its tombstone (only if the
    /// tombstone is still this commit's), so the client's old cookie keeps working, data included. Best effort.
    /// </summary>
    private async ValueTask UndoTombstoneAsync(SessionData session, string oldKey, SessionRecord? replaced)
    {
        if (session.StoredVersion is not { } version)
        {
            return;
        }

        try
        {
            await UndoBindingAsync(session, oldKey, replaced, version + 1, deleteIfNotRestored: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SessionBackendException or SessionConflictException)
        {
            Log.UndoFailed(_logger, ex.Message);
        }
    }

    /// <summary>
    /// After a regenerate's tombstone write failed or timed out: in the background, looks for the tombstone (version
    /// <paramref name="tombstoneVersion"/>) 0.5, 1.5 and 3.5 s after, then every 2 s, for twice the moved-ID lifetime plus
    /// 5 s (25 s by default; by the store's clock), and puts <paramref name="replaced"/> back over it once it has landed.
    /// A store frozen with the write queued can apply it on its return, long after the engine gave up. Stops when the
    /// record is anything else (changed since, deleted, expired). Logs 1047 if the store was still failing at the end.
    /// </summary>
    private void RestoreIfTombstoneLands(string oldKey, SessionRecord replaced, long tombstoneVersion)
    {
        var until = _time.GetUtcNow() + (2 * MovedIdLifetime) + TimeSpan.FromSeconds(5);
        _ = Task.Run(async () =>
        {
            string? lastFailure = null;
            for (var look = 0; ; look++)
            {
                await Task.Delay(look switch { 0 => TimeSpan.FromSeconds(0.5), 1 => TimeSpan.FromSeconds(1), _ => TimeSpan.FromSeconds(2) }, _time).ConfigureAwait(false);
                try
                {
                    var current = await GetAsync(oldKey, CancellationToken.None).ConfigureAwait(false);
                    lastFailure = null;
                    if (current is not null && current.Version == tombstoneVersion && EnvelopeCodec.IsTombstone(current.Payload.Span))
                    {
                        // Writes through a moved ID fail their condition, so nothing can have changed it meanwhile.
                        await PutBackAsync(oldKey, replaced, tombstoneVersion, CancellationToken.None).ConfigureAwait(false);
                        return;
                    }

                    if (current is null || current.Version != tombstoneVersion - 1 || EnvelopeCodec.IsTombstone(current.Payload.Span))
                    {
                        return; // deleted, expired or changed since: the write cannot land any more, or something else won
                    }
                }
                catch (SessionBackendException ex)
                {
                    lastFailure = ex.Message;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // The backend was disposed (the app is stopping), or something else no retry will mend.
                    Log.UndoFailed(_logger, ex.Message);
                    return;
                }

                if (_time.GetUtcNow() >= until)
                {
                    break;
                }
            }

            if (lastFailure is not null)
            {
                Log.UndoFailed(_logger, lastFailure);
            }
        });
    }

    /// <summary>
    /// Puts <paramref name="before"/> back under <paramref name="key"/> over the record this commit wrote at version
    /// <paramref name="written"/>, and aims the session's next save at it. When <paramref name="before"/> is not the version
    /// the commit replaced (or is missing), the written record is deleted instead when <paramref name="deleteIfNotRestored"/>
    /// (a refused binding never stays); a regenerate's tombstone is left as it is.
    /// </summary>
    private async ValueTask UndoBindingAsync(SessionData session, string key, SessionRecord? before, long written, bool deleteIfNotRestored, CancellationToken cancellationToken)
    {
        if (before is not null && before.Version == written - 1)
        {
            if (await PutBackAsync(key, before, written, cancellationToken).ConfigureAwait(false))
            {
                session.TakeVersion(written + 1, before.ExpiresAt, session.StoredUserId);
                session.StoredToken = null;
                return;
            }
        }

        if (deleteIfNotRestored)
        {
            await RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
        }
    }

    // Writes before (the record a commit replaced) back over the record that commit wrote at version written, only if that
    // record is still there; as version written + 1, so later conditional writes see the change.
    private ValueTask<bool> PutBackAsync(string key, SessionRecord before, long written, CancellationToken cancellationToken) =>
        SetAsync(key, new SessionRecord(before.Payload, before.ExpiresAt, written + 1), SetCondition.IfVersion(written), cancellationToken);

    // Whether the record under the key is deleted, expired or moved to a new ID.
    private async ValueTask<bool> IsGoneAsync(string key, CancellationToken cancellationToken)
    {
        var current = await GetAsync(key, cancellationToken).ConfigureAwait(false);
        return current is null || current.ExpiresAt <= _time.GetUtcNow() || EnvelopeCodec.IsTombstone(current.Payload.Span);
    }

    // How long a regenerate's tombstone lives: Sessions:MovedIdLifetime, at most the idle timeout.
    private TimeSpan MovedIdLifetime => _options.MovedIdLifetime < _options.IdleTimeout ? _options.MovedIdLifetime : _options.IdleTimeout;

    /// <summary>After a failed conditional write: reload and prepare the retry. Returns false when the session is gone.</summary>
    private async ValueTask<bool> ResolveConflictAsync(SessionData session, string key, int attempt, CancellationToken cancellationToken)
    {
        SessionsInstrumentation.Conflicts.Add(1, _backendTag);
        Log.Conflict(_logger, attempt + 1, _options.ConcurrencyMode);
        if (_options.ConcurrencyMode == ConcurrencyMode.Fail)
        {
            throw ConflictException();
        }

        if (attempt >= _options.MaxConflictRetries)
        {
            throw new SessionConflictException(
                $"The session kept changing under this request: {attempt + 1} saves in a row conflicted with other requests (Sessions:MaxConflictRetries = {_options.MaxConflictRetries}).");
        }

        if (attempt > 0)
        {
            // A second conflict in a row: another app instance is writing this session too (this process's commits of
            // it queue on the commit lock). Back off a little, with jitter, so the contenders stop colliding in lockstep.
            // Real time, not the app's TimeProvider: the wait is about physical contention in the store, and a test's
            // manual clock (which only moves when advanced) must not hold a save forever.
            await Task.Delay(ConflictBackoff(attempt), cancellationToken).ConfigureAwait(false);
        }

        var current = await GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (current is null || current.ExpiresAt <= _time.GetUtcNow() || EnvelopeCodec.IsTombstone(current.Payload.Span))
        {
            // Expired, deleted, or moved to a new ID by a regenerate: the session is gone for this request.
            return false;
        }

        if (!_codec.TryDecode(current.Payload.Span, out var stored))
        {
            ReportCorrupt(key, current);
            return false;
        }

        if (_options.ConcurrencyMode == ConcurrencyMode.Merge)
        {
            session.RebaseOnto(stored, current.Version, current.ExpiresAt);
        }
        else
        {
            session.TakeVersion(current.Version, current.ExpiresAt, stored.UserId);
        }

        session.StoredToken = current.ConcurrencyToken;
        return true;
    }

    /// <summary>
    /// The wait before the retry after the <paramref name="attempt"/>-th conflict (1-based after the first): "full jitter",
    /// a random time up to <see cref="SessionOptions.ConflictRetryDelay"/> × 2^(attempt - 1), capped at
    /// <see cref="SessionOptions.MaxConflictRetryDelay"/>, and at least 1/4 of that bound.
    /// </summary>
    internal TimeSpan ConflictBackoff(int attempt)
    {
        var bound = _options.ConflictRetryDelay * Math.Pow(2, Math.Min(attempt - 1, 20));
        if (bound > _options.MaxConflictRetryDelay)
        {
            bound = _options.MaxConflictRetryDelay;
        }

        return bound * (0.25 + (0.75 * Random.Shared.NextDouble()));
    }

    /// <summary>The session was deleted by someone else: drop this request's changes and the index entry, recreate nothing.</summary>
    private async ValueTask GoneAsync(SessionData session, string key, CancellationToken cancellationToken)
    {
        Log.SessionGone(_logger);
        var user = session.StoredUserId;
        session.MarkDeleted();
        if (user is not null)
        {
            await _index.RemoveAsync(user, key, cancellationToken).ConfigureAwait(false);
        }
    }

    // Plain backend calls for the user index and the session manager: timed, traced and wrapped like the engine's own.
    internal ValueTask<SessionRecord?> GetRawAsync(string key, CancellationToken cancellationToken) => GetAsync(key, cancellationToken);

    internal ValueTask<bool> SetRawAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken) =>
        SetAsync(key, record, condition, cancellationToken);

    internal ValueTask<bool> RemoveRawAsync(string key, long? expectedVersion, CancellationToken cancellationToken) =>
        RemoveAsync(key, expectedVersion, cancellationToken);

    internal ValueTask<bool> TouchRawAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        TouchAsync(key, expiresAt, cancellationToken);

    internal bool TryDecode(SessionRecord record, string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SessionEnvelope? envelope)
    {
        if (_codec.TryDecode(record.Payload.Span, out envelope))
        {
            return true;
        }

        if (EnvelopeCodec.IsTombstone(record.Payload.Span))
        {
            // A regenerate's "moved" tombstone: no session (not a live one, not a corrupt one).
            return false;
        }

        ReportCorrupt(key, record);
        return false;
    }

    private byte[] Encode(SessionData session) =>
        _codec.Encode(session.ToEnvelope());

    private static SessionConflictException ConflictException() =>
        new("Another request changed this session at the same time, and Sessions:ConcurrencyMode is Fail. Retry the request, or use Merge.");

    private void CountLoad(string result)
    {
        if (SessionsInstrumentation.Loads.Enabled)
        {
            SessionsInstrumentation.Loads.Add(1, _backendTag, new("sessions.result", result));
        }
    }

    private void ReportCorrupt(string key, SessionRecord record)
    {
        var span = record.Payload.Span;
        Log.CorruptRecord(_logger, key, BackendName, span.Length, span.IsEmpty ? (byte)0 : span[0]);
        SessionsInstrumentation.Corrupt.Add(1, _backendTag);
        CountLoad("corrupt");
    }

    // The four backend calls: each timed, traced, guarded by its key's partition's breaker (the whole store's when the
    // backend declares no partitions), and with failures wrapped in SessionBackendException.
    private async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var guard = _guard.For(key);
        using var activity = StartActivity("get");
        try
        {
            var record = await guard.ExecuteAsync(static (s, ct) => s.Backend.GetAsync(s.Key, ct), (Backend: _backend, Key: key), cancellationToken).ConfigureAwait(false);
            Completed("get", start, guard);
            return record;
        }
        catch (SessionRecordCorruptException ex)
        {
            // The store answered, but with something the backend cannot read: a corrupt record, not an outage.
            Completed("get", start, guard);
            Log.CorruptRecord(_logger, key, BackendName, ex.StoredBytes ?? -1, 0);
            SessionsInstrumentation.Corrupt.Add(1, _backendTag);
            CountLoad("corrupt");
            return null;
        }
        catch (Exception ex) when (IsBackendFailure(ex, cancellationToken))
        {
            throw Failed("get", ex, activity, guard);
        }
    }

    private async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var guard = _guard.For(key);
        using var activity = StartActivity("set");
        try
        {
            var written = await guard.ExecuteAsync(
                static (s, ct) => s.Backend.SetAsync(s.Key, s.Record, s.Condition, ct),
                (Backend: _backend, Key: key, Record: record, Condition: condition),
                cancellationToken).ConfigureAwait(false);
            Completed("set", start, guard);
            if (written)
            {
                SessionsInstrumentation.Saves.Add(1, _backendTag);
            }

            return written;
        }
        catch (Exception ex) when (IsBackendFailure(ex, cancellationToken))
        {
            throw Failed("set", ex, activity, guard);
        }
    }

    private async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var guard = _guard.For(key);
        using var activity = StartActivity("remove");
        try
        {
            var removed = await guard.ExecuteAsync(
                static (s, ct) => s.Backend.RemoveAsync(s.Key, s.ExpectedVersion, ct),
                (Backend: _backend, Key: key, ExpectedVersion: expectedVersion),
                cancellationToken).ConfigureAwait(false);
            Completed("remove", start, guard);
            if (removed)
            {
                SessionsInstrumentation.Deletes.Add(1, _backendTag);
            }

            return removed;
        }
        catch (Exception ex) when (IsBackendFailure(ex, cancellationToken))
        {
            throw Failed("remove", ex, activity, guard);
        }
    }

    private async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var guard = _guard.For(key);
        using var activity = StartActivity("touch");
        try
        {
            var touched = await guard.ExecuteAsync(
                static (s, ct) => s.Backend.TouchAsync(s.Key, s.ExpiresAt, ct),
                (Backend: _backend, Key: key, ExpiresAt: expiresAt),
                cancellationToken).ConfigureAwait(false);
            Completed("touch", start, guard);
            if (touched)
            {
                SessionsInstrumentation.Touches.Add(1, _backendTag);
            }

            return touched;
        }
        catch (Exception ex) when (IsBackendFailure(ex, cancellationToken))
        {
            throw Failed("touch", ex, activity, guard);
        }
    }

    /// <summary>Whether <paramref name="ex"/> is the store failing, rather than the library's own verdict (a <see cref="SessionException"/> such as a corrupt record) or the caller's cancellation.</summary>
    internal static bool IsBackendFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is not SessionException && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested);

    private Activity? StartActivity(string operation)
    {
        if (!SessionsInstrumentation.ActivitySource.HasListeners())
        {
            return null;
        }

        var activity = SessionsInstrumentation.ActivitySource.StartActivity("sessions." + operation, ActivityKind.Client);
        activity?.SetTag("sessions.backend", BackendName);
        activity?.SetTag("sessions.operation", operation);
        return activity;
    }

    private void Completed(string operation, long start, BackendGuard.Partition guard)
    {
        guard.Succeeded();
        if (SessionsInstrumentation.BackendDuration.Enabled)
        {
            SessionsInstrumentation.BackendDuration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, _backendTag, new("sessions.operation", operation));
        }
    }

    private SessionBackendException Failed(string operation, Exception ex, Activity? activity, BackendGuard.Partition guard)
    {
        SessionsInstrumentation.Errors.Add(1, _backendTag, new("sessions.operation", operation));
        activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
        var failed = guard.Failed(operation, ex);
        var message = ex switch
        {
            BrokenCircuitException => $"The session store '{BackendName}'{(guard.Name is null ? "" : $" (partition {guard.Name}, where this session is stored)")} is known to be down ({failed} calls failed in the last {guard.OutageDuration.TotalSeconds:0.#} s), "
                + $"so {operation} was not attempted; it is probed every {_guard.BreakDuration.TotalMilliseconds:0} ms and used again as soon as it answers.",
            TimeoutRejectedException => $"The session backend '{BackendName}'{(guard.Name is null ? "" : $" (partition {guard.Name})")} did not answer {operation} within {_guard.OperationTimeout.TotalMilliseconds:0} ms (Sessions:OperationTimeout); the call was abandoned.",
            _ => $"The session backend '{BackendName}' failed during {operation}: {ex.Message}",
        };
        return new SessionBackendException(message, ex)
        {
            Backend = BackendName,
            Operation = operation,
        };
    }
}
