using Microsoft.Extensions.Logging;
using Sessions.Diagnostics;
using Sessions.Envelope;

namespace Sessions.Engine;

/// <summary>
/// Enforces <see cref="SessionOptions.MaxSessionsPerUser"/> on the generic user index, so it holds on every backend and
/// across app instances.
/// </summary>
/// <remarks>
/// Why racing sign-ins cannot exceed the cap: each binding adds its session to the index and writes the session first,
/// and only then reads the index and cuts every live session beyond the cap, ranked by one order that every reader
/// agrees on. The last of the racers to read sees every racer's session (each wrote before it read) and cuts all but
/// the first <c>cap</c>; the others cut only sessions outside the first <c>cap</c> of what they saw, which are outside
/// the first <c>cap</c> of everything too. So all racers converge on the same survivors, exactly <c>cap</c> of them.
/// The order: for <see cref="SessionLimitMode.RevokeLeastRecentlyUsed"/>, most recently used first (the latest expiry,
/// which moves with use), ties broken by the later place in the index; for <see cref="SessionLimitMode.Refuse"/>, the
/// earlier place in the index first, so existing sessions win over new ones.
/// </remarks>
internal sealed class UserSessionCap(SessionStore store, ILogger logger)
{
    /// <summary>
    /// With <see cref="SessionLimitMode.Refuse"/>: fails a binding before anything is written when the user already has
    /// the cap of live sessions besides <paramref name="ownKey"/> and <paramref name="replacedKey"/> (the ID a regenerated
    /// session leaves, deleted by the same commit).
    /// </summary>
    /// <exception cref="SessionLimitExceededException">The user is at the cap.</exception>
    public async ValueTask ThrowIfFullAsync(string userId, string ownKey, string? replacedKey, CancellationToken cancellationToken)
    {
        var options = store.Options;
        if (options.MaxSessionsPerUser is not { } cap || options.SessionLimitMode != SessionLimitMode.Refuse)
        {
            return;
        }

        var members = await store.Index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        if (members.Count(m => m.Key != ownKey && m.Key != replacedKey) < cap)
        {
            return;
        }

        var live = await ReadLiveAsync(userId, members, replacedKey, cancellationToken).ConfigureAwait(false);
        if (live.Count(s => s.Key != ownKey) >= cap)
        {
            throw Exceeded(userId, cap);
        }
    }

    /// <summary>
    /// After a session was bound to <paramref name="userId"/> and written: cuts the user's live sessions beyond the cap.
    /// The sessions cut other than <paramref name="ownKey"/> are added to <paramref name="revoked"/>; <paramref name="replacedKey"/>
    /// (the ID a regenerated session leaves, deleted by the same commit) does not count.
    /// </summary>
    /// <returns>Whether the session under <paramref name="ownKey"/> was cut too (a lost race; with Refuse, the caller throws).</returns>
    public async ValueTask<bool> EnforceAsync(string userId, string ownKey, string? replacedKey, List<string> revoked, CancellationToken cancellationToken)
    {
        if (store.Options.MaxSessionsPerUser is not { } cap)
        {
            return false;
        }

        var members = await store.Index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        if (members.Count <= cap)
        {
            return false;
        }

        var live = await ReadLiveAsync(userId, members, replacedKey, cancellationToken).ConfigureAwait(false);
        if (live.Count <= cap)
        {
            return false;
        }

        if (store.Options.SessionLimitMode == SessionLimitMode.Refuse)
        {
            live.Sort(static (a, b) => a.Position.CompareTo(b.Position));
        }
        else
        {
            live.Sort(static (a, b) => b.ExpiresAt != a.ExpiresAt ? b.ExpiresAt.CompareTo(a.ExpiresAt) : b.Position.CompareTo(a.Position));
        }

        var ownCut = false;
        var cut = new List<string>(live.Count - cap);
        foreach (var session in live.Skip(cap))
        {
            cut.Add(session.Key);
            var removed = await store.RemoveRawAsync(session.Key, null, cancellationToken).ConfigureAwait(false);
            if (session.Key == ownKey)
            {
                ownCut = true;
            }

            if (removed)
            {
                // Only the racer whose delete succeeded reports it (its own session included: another racer may have
                // deleted that one first, and then reported it): one event per revoked session.
                revoked.Add(session.Key);
            }
        }

        try
        {
            await store.Index.RemoveAsync(userId, cut, cancellationToken).ConfigureAwait(false);
        }
        catch (SessionConflictException)
        {
            // Many sign-ins of one user at once: the entries of deleted sessions are harmless and pruned when the index is next listed.
        }

        if (revoked.Count > 0)
        {
            Log.CapRevoked(logger, cap, revoked.Count);
        }
        return ownCut;
    }

    public SessionLimitExceededException Exceeded(string userId, int cap) =>
        new($"The user already has {cap} sessions, the most Sessions:MaxSessionsPerUser allows, and Sessions:SessionLimitMode is Refuse: the session was not bound to the user. Sign out elsewhere (or revoke a session) and sign in again.")
        {
            UserId = userId,
            MaxSessionsPerUser = cap,
        };

    // The index's members whose session exists, has not expired, and is still bound to the user, with their place in the index.
    private async ValueTask<List<LiveSession>> ReadLiveAsync(string userId, List<UserIndexMember> members, string? replacedKey, CancellationToken cancellationToken)
    {
        var now = store.UtcNow();
        var live = new List<LiveSession>(members.Count);
        for (var i = 0; i < members.Count; i++)
        {
            var key = members[i].Key;
            if (key == replacedKey)
            {
                continue;
            }

            var record = await store.GetRawAsync(key, cancellationToken).ConfigureAwait(false);
            if (record is not null && record.ExpiresAt > now && !EnvelopeCodec.IsTombstone(record.Payload.Span) && store.TryDecode(record, key, out var envelope)
                && string.Equals(envelope.UserId, userId, StringComparison.Ordinal)
                && (envelope.AbsoluteDeadline is not { } deadline || deadline > now))
            {
                live.Add(new LiveSession(key, i, record.ExpiresAt));
            }
        }

        return live;
    }

    private readonly record struct LiveSession(string Key, int Position, DateTimeOffset ExpiresAt);
}
