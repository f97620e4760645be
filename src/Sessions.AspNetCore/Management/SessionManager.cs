using Sessions.Backends;
using Sessions.Diagnostics;
using Sessions.Engine;
using Sessions.Ids;

namespace Sessions.Management;

/// <summary>The default <see cref="ISessionManager"/>, over the engine and the generic user index.</summary>
public sealed class SessionManager : ISessionManager
{
    private readonly SessionStore _store;
    private readonly ISessionIdGenerator _ids;
    private readonly BackendAccessor _backend;
    private readonly UserSessionIndex _index;
    private readonly SessionRecords _records;
    private readonly LifecycleEvents _events;

    /// <summary>Creates the manager.</summary>
    /// <param name="store">The session engine.</param>
    /// <param name="idGenerator">Recognises well-formed IDs.</param>
    public SessionManager(SessionStore store, ISessionIdGenerator idGenerator)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _ids = idGenerator ?? throw new ArgumentNullException(nameof(idGenerator));
        _backend = store.Accessor;
        _index = store.Index;
        _records = store.Records;
        _events = store.Lifecycle;
    }

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> GetAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        var data = await _store.LoadAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return data is null ? null : Describe(_store.Keys.ForSession(sessionId)!, data.UserId, data.CreatedAt, data.ExpiresAt!.Value, null);
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default) => _store.DeleteAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    public string GetHandle(string sessionId)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        if (UserSessionIndex.IsHandle(sessionId))
        {
            return sessionId; // already a handle: ISession.Id is one
        }

        return _ids.IsWellFormed(sessionId) && _store.Keys.ForSession(sessionId) is { } key ? UserSessionIndex.HandleFor(key) : string.Empty;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<SessionInfo>> ListUserSessionsAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var members = await _index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        var live = new List<SessionInfo>(members.Count);
        var stale = new List<string>();
        var now = _events.Now();
        foreach (var member in members)
        {
            var record = await _backend.GetAsync(member.Key, cancellationToken).ConfigureAwait(false);
            if (_records.IsLiveFor(record, member.Key, userId, now, out var envelope))
            {
                live.Add(Describe(member.Key, userId, envelope.CreatedAt, record.ExpiresAt, member.ClientDescription));
            }
            else
            {
                stale.Add(member.Key);
            }
        }

        if (stale.Count > 0)
        {
            await _index.RemoveAsync(userId, stale, cancellationToken).ConfigureAwait(false);
        }

        live.Sort((a, b) => b.CreatedAt.CompareTo(a.CreatedAt));
        return live;
    }

    /// <inheritdoc />
    public async ValueTask<bool> RevokeUserSessionAsync(string userId, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(handle);
        var members = await _index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        var member = members.FirstOrDefault(m => string.Equals(UserSessionIndex.HandleFor(m.Key), handle, StringComparison.Ordinal));
        return member is not null && await _store.DeleteByKeyAsync(member.Key, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Ends every session the user's index lists, then, on a backend that can list its keys (<see cref="ISessionKeyEnumerator"/>)
    /// and when the index may have been lost (it is missing, or younger than <see cref="UnlistedSessionHorizon"/>, or was healed
    /// within it), every other stored session bound to the user, found by reading each stored record. It first leaves a
    /// revocation marker, so that a session neither reaches (on a store without key listing) ends at its next index check,
    /// at most <see cref="SessionOptions.TouchAfter"/> of use later, instead of healing the index.
    /// </remarks>
    public async ValueTask<int> RevokeUserSessionsAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var revoked = 0;
        var revokedAt = _events.Now();
        var state = await _index.ReadStateAsync(userId, cancellationToken).ConfigureAwait(false);
        var scan = CanListKeys(_backend.Backend) && MayHaveLostMembers(state, revokedAt);
        await _index.MarkRevokedAsync(userId, revokedAt, cancellationToken).ConfigureAwait(false);

        // Loop until the index is empty: a session bound concurrently (a sign-in racing the revocation) is revoked too.
        for (var round = 0; round < 10; round++)
        {
            var members = await _index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
            if (members.Count == 0)
            {
                break;
            }

            foreach (var member in members)
            {
                if (await _backend.RemoveAsync(member.Key, null, cancellationToken).ConfigureAwait(false))
                {
                    revoked++;
                    await _events.RaiseRevokedAsync(member.Key, userId).ConfigureAwait(false);
                }
            }

            await _index.RemoveAsync(userId, [.. members.Select(m => m.Key)], cancellationToken).ConfigureAwait(false);
        }

        if (scan)
        {
            revoked += await RevokeUnlistedAsync(userId, (ISessionKeyEnumerator)_backend.Backend, cancellationToken).ConfigureAwait(false);
        }

        return revoked;
    }

    /// <summary>
    /// How long after a user's index was created (or healed) it may still miss a live session of the user: a session that
    /// lost its index checks it again within <see cref="SessionOptions.TouchAfter"/> of its last write when used, and expires
    /// within the idle timeout of that write when not; plus a minute for clocks between app instances.
    /// </summary>
    private TimeSpan UnlistedSessionHorizon => _store.Options.IdleTimeout + _store.Options.EffectiveTouchAfter + TimeSpan.FromMinutes(1);

    // A migrating backend lists keys only when both of its stores can.
    private static bool CanListKeys(ISessionBackend backend) =>
        backend is ISessionKeyEnumerator && backend is not Backends.Migration.MigratingSessionBackend { CanEnumerateKeys: false };

    private bool MayHaveLostMembers(IndexState? state, DateTimeOffset now) =>
        state is null
        || (state.CreatedAt is { } created && now - created < UnlistedSessionHorizon)
        || (state.HealedAt is { } healed && now - healed < UnlistedSessionHorizon);

    // Reads every stored session and revokes those bound to the user: the ones a lost index no longer lists.
    private async ValueTask<int> RevokeUnlistedAsync(string userId, ISessionKeyEnumerator enumerator, CancellationToken cancellationToken)
    {
        var prefix = _store.Keys.Prefix;
        var revoked = 0;
        await foreach (var key in _backend.EnumerateKeysAsync(enumerator, prefix, cancellationToken).ConfigureAwait(false))
        {
            if (SessionRecordInspector.IsUserIndexKey(key, prefix) || !SessionKeys.IsValid(key))
            {
                continue;
            }

            var record = await _backend.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (_records.IsGone(record) || !_records.TryDecode(record, key, out var envelope) || !string.Equals(envelope.UserId, userId, StringComparison.Ordinal))
            {
                continue;
            }

            if (await _backend.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false))
            {
                revoked++;
                await _events.RaiseRevokedAsync(key, userId).ConfigureAwait(false);
            }
        }

        if (revoked > 0)
        {
            Log.RevokedUnlisted(_store.Logger, _store.Keys.ForUser(userId), revoked);
        }

        return revoked;
    }

    /// <inheritdoc />
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        if (_backend.Backend is not IExpiredSessionPurger purger)
        {
            return 0;
        }

        var purged = await _backend.PurgeExpiredAsync(purger, cancellationToken).ConfigureAwait(false);
        await _events.RaisePurgedAsync(purged).ConfigureAwait(false);
        return purged;
    }

    private SessionInfo Describe(string key, string? userId, DateTimeOffset createdAt, DateTimeOffset expiresAt, string? client)
    {
        var lastSeen = expiresAt - _store.Options.IdleTimeout;
        if (lastSeen < createdAt)
        {
            lastSeen = createdAt;
        }

        return new SessionInfo(UserSessionIndex.HandleFor(key), userId, createdAt, lastSeen, expiresAt, client);
    }
}
