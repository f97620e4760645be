using Sessions.Backends;
using Sessions.Engine;
using Sessions.Ids;

namespace Sessions.Management;

/// <summary>The default <see cref="ISessionManager"/>, over the engine and the generic user index.</summary>
public sealed class SessionManager : ISessionManager
{
    private readonly SessionStore _store;
    private readonly ISessionIdGenerator _ids;

    /// <summary>Creates the manager.</summary>
    /// <param name="store">The session engine.</param>
    /// <param name="idGenerator">Recognises well-formed IDs.</param>
    public SessionManager(SessionStore store, ISessionIdGenerator idGenerator)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _ids = idGenerator ?? throw new ArgumentNullException(nameof(idGenerator));
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
        var members = await _store.Index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        var live = new List<SessionInfo>(members.Count);
        var stale = new List<string>();
        var now = _store.UtcNow();
        foreach (var member in members)
        {
            var record = await _store.GetRawAsync(member.Key, cancellationToken).ConfigureAwait(false);
            if (record is not null && record.ExpiresAt > now && _store.TryDecode(record, member.Key, out var envelope)
                && string.Equals(envelope.UserId, userId, StringComparison.Ordinal)
                && (envelope.AbsoluteDeadline is not { } deadline || deadline > now))
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
            await _store.Index.RemoveAsync(userId, stale, cancellationToken).ConfigureAwait(false);
        }

        live.Sort((a, b) => b.CreatedAt.CompareTo(a.CreatedAt));
        return live;
    }

    /// <inheritdoc />
    public async ValueTask<bool> RevokeUserSessionAsync(string userId, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(handle);
        var members = await _store.Index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        var member = members.FirstOrDefault(m => string.Equals(UserSessionIndex.HandleFor(m.Key), handle, StringComparison.Ordinal));
        return member is not null && await _store.DeleteByKeyAsync(member.Key, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<int> RevokeUserSessionsAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var revoked = 0;

        // Loop until the index is empty: a session bound concurrently (a sign-in racing the revocation) is revoked too.
        for (var round = 0; round < 10; round++)
        {
            var members = await _store.Index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
            if (members.Count == 0)
            {
                break;
            }

            foreach (var member in members)
            {
                if (await _store.RemoveRawAsync(member.Key, null, cancellationToken).ConfigureAwait(false))
                {
                    revoked++;
                    await _store.RaiseAsync(new SessionDestroyedEvent(UserSessionIndex.HandleFor(member.Key), userId, SessionDestroyReason.Revoked, _store.EventTime())).ConfigureAwait(false);
                }
            }

            await _store.Index.RemoveAsync(userId, [.. members.Select(m => m.Key)], cancellationToken).ConfigureAwait(false);
        }

        return revoked;
    }

    /// <inheritdoc />
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        if (_store.Backend is not IExpiredSessionPurger purger)
        {
            return 0;
        }

        var purged = await purger.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
        await _store.RaisePurgedAsync(purged).ConfigureAwait(false);
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
