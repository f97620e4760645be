using Microsoft.Extensions.Logging;
using Sessions.Backends;
using Sessions.Diagnostics;
using Sessions.Envelope;

namespace Sessions.Engine;

/// <summary>
/// Enforces <see cref="SessionOptions.MaxSessionsPerUser"/> on the generic user index, so it holds on every backend and
/// across app instances; without it, the index's own limit of <see cref="UserSessionIndex.MaxMembers"/> live sessions,
/// the same way as <see cref="SessionLimitMode.RevokeLeastRecentlyUsed"/>. Either way, members whose session is dead are
/// pruned before any live one is cut, and a live session is never dropped from the index without being ended: a session
/// the index does not list would escape revocation.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="SessionLimitMode.RevokeLeastRecentlyUsed"/>: why racing sign-ins cannot exceed the cap. Each binding adds its
/// session to the index and writes the session first, and only then reads the index and cuts every live session beyond
/// the cap, ranked most recently used first (the latest expiry, which moves with use; ties broken by the later place in
/// the index). The last of the racers to read sees every racer's session (each wrote before it read) and cuts all but the
/// first <c>cap</c>; the others cut only sessions outside the first <c>cap</c> of what they saw, which are outside the
/// first <c>cap</c> of everything too. So all racers converge on the same survivors, exactly <c>cap</c> of them.
/// </para>
/// <para>
/// <see cref="SessionLimitMode.Refuse"/>: a racer never cuts another session, so a sign-in that was answered stays signed
/// in. After writing, a racer counts the sessions ahead of its own in the index (the index keeps the order in which
/// members were added, and every change to it is conditional, so every reader agrees on that order): live sessions of
/// the user, and members added within <see cref="PendingBindingWindow"/> whose session is not written yet (a binding
/// in flight, which may yet become live). With <c>cap</c> or more ahead, it refuses itself: its own binding is undone
/// and the caller throws. A racer ahead of the one counting was added before it, so the set ahead of an accepted session
/// never grows, and the accepted sessions, taken in index order, each had fewer than <c>cap</c> accepted ones ahead:
/// at most <c>cap</c> are accepted. A member older than the window with no session is counted as dead; so that such a
/// late binding cannot come alive behind the backs of those that skipped it, a racer whose own binding took longer than
/// half the window from its index entry to its check refuses itself (this tolerates clock differences between app
/// instances of up to half the window).
/// </para>
/// </remarks>
internal sealed class UserSessionCap(SessionOptions options, UserSessionIndex index, BackendAccessor backend, SessionRecords records, TimeProvider time, ILogger logger)
{
    /// <summary>
    /// With <see cref="SessionLimitMode.Refuse"/>: how long after its index entry was added a binding whose session is not
    /// (yet) written still holds a place (2 minutes). A failed sign-in of a user one short of the cap delays the next one
    /// by at most this long.
    /// </summary>
    internal static readonly TimeSpan PendingBindingWindow = TimeSpan.FromMinutes(2);

    /// <summary>
    /// With <see cref="SessionLimitMode.Refuse"/>: fails a binding before anything is written when the user already has
    /// the cap of live sessions besides <paramref name="ownKey"/> and <paramref name="replacedKey"/> (the ID a regenerated
    /// session leaves, deleted by the same commit).
    /// </summary>
    /// <exception cref="SessionLimitExceededException">The user is at the cap.</exception>
    public async ValueTask ThrowIfFullAsync(string userId, string ownKey, string? replacedKey, CancellationToken cancellationToken)
    {
        if (options.MaxSessionsPerUser is not { } cap || options.SessionLimitMode != SessionLimitMode.Refuse)
        {
            return;
        }

        var members = await index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        if (members.Count(m => m.Key != ownKey && m.Key != replacedKey) < cap)
        {
            return;
        }

        var (live, dead) = await ReadLiveAsync(userId, members, replacedKey, cancellationToken).ConfigureAwait(false);
        if (dead.Count > 0)
        {
            // Refuse mode never cuts a live session; this keeps the index from filling up with dead ones.
            await RemoveFromIndexAsync(userId, dead, cancellationToken).ConfigureAwait(false);
        }

        if (live.Count(s => s.Key != ownKey) >= cap)
        {
            throw Exceeded(userId, cap);
        }
    }

    /// <summary>
    /// After a session was bound to <paramref name="userId"/> and written. With <see cref="SessionLimitMode.RevokeLeastRecentlyUsed"/>:
    /// cuts the user's live sessions beyond the cap; the sessions cut are added to <paramref name="revoked"/> (by the racer
    /// whose delete succeeded). With <see cref="SessionLimitMode.Refuse"/>: only decides whether this binding is beyond the
    /// cap, and changes nothing (the caller undoes its binding). <paramref name="replacedKey"/> (the ID a regenerated
    /// session leaves, deleted by the same commit) does not count.
    /// </summary>
    /// <param name="userId">The user the session was bound to.</param>
    /// <param name="ownKey">The storage key of the session just bound.</param>
    /// <param name="replacedKey">The ID a regenerated session leaves, or <see langword="null"/>.</param>
    /// <param name="boundAt">When this binding's index entry was added (the store's clock), for the late-binding check.</param>
    /// <param name="revoked">Receives the sessions this call revoked (Revoke mode).</param>
    /// <param name="cancellationToken">Cancels the backend calls.</param>
    /// <returns>Whether the session under <paramref name="ownKey"/> was cut (Revoke: a lost race) or is refused (Refuse).</returns>
    public async ValueTask<bool> EnforceAsync(string userId, string ownKey, string? replacedKey, DateTimeOffset boundAt, List<string> revoked, CancellationToken cancellationToken)
    {
        var configured = options.MaxSessionsPerUser;
        var cap = configured ?? UserSessionIndex.MaxMembers;
        if (configured is not null && options.SessionLimitMode == SessionLimitMode.Refuse)
        {
            return await IsRefusedAsync(userId, ownKey, replacedKey, boundAt, cap, cancellationToken).ConfigureAwait(false);
        }

        var members = await index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        if (members.Count <= cap)
        {
            return false;
        }

        // Dead members go first: only live sessions beyond the cap are cut (and ended), never a live one for a dead one.
        var (live, dead) = await ReadLiveAsync(userId, members, replacedKey, cancellationToken).ConfigureAwait(false);
        if (live.Count <= cap)
        {
            if (dead.Count > 0)
            {
                await RemoveFromIndexAsync(userId, dead, cancellationToken).ConfigureAwait(false);
            }

            return false;
        }

        live.Sort(static (a, b) => b.ExpiresAt != a.ExpiresAt ? b.ExpiresAt.CompareTo(a.ExpiresAt) : b.Position.CompareTo(a.Position));

        var ownCut = false;
        var cut = new List<string>(live.Count - cap);
        foreach (var session in live.Skip(cap))
        {
            cut.Add(session.Key);
            var removed = await backend.RemoveAsync(session.Key, null, cancellationToken).ConfigureAwait(false);
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

        cut.AddRange(dead);
        await RemoveFromIndexAsync(userId, cut, cancellationToken).ConfigureAwait(false);

        if (revoked.Count > 0)
        {
            if (configured is null)
            {
                Log.IndexLimitRevoked(logger, cap, revoked.Count);
            }
            else
            {
                Log.CapRevoked(logger, cap, revoked.Count);
            }
        }

        return ownCut;
    }

    private async ValueTask RemoveFromIndexAsync(string userId, List<string> keys, CancellationToken cancellationToken)
    {
        try
        {
            await index.RemoveAsync(userId, keys, cancellationToken).ConfigureAwait(false);
        }
        catch (SessionConflictException)
        {
            // Many sign-ins of one user at once: the entries of deleted sessions are harmless and pruned by the next sign-in or listing.
        }
    }

    // Refuse mode: whether this binding is beyond the cap (see the remarks). Reads the records of the members ahead of it only.
    private async ValueTask<bool> IsRefusedAsync(string userId, string ownKey, string? replacedKey, DateTimeOffset boundAt, int cap, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now - boundAt > PendingBindingWindow / 2)
        {
            Log.CapLateBinding(logger, (long)(now - boundAt).TotalMilliseconds);
            return true;
        }

        var members = await index.ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        var own = members.FindIndex(m => m.Key == ownKey);
        if (own < cap)
        {
            // Fewer than the cap ahead (or no entry at all: a revocation of the user's sessions removed it meanwhile).
            return false;
        }

        var ahead = 0;
        for (var i = 0; i < own; i++)
        {
            var member = members[i];
            if (member.Key == replacedKey)
            {
                continue;
            }

            var record = await backend.GetAsync(member.Key, cancellationToken).ConfigureAwait(false);
            var holdsPlace = records.IsLiveFor(record, member.Key, userId, now, out _)
                || ((record is null || (record.ExpiresAt > now && !EnvelopeCodec.IsTombstone(record.Payload.Span)))
                    && now - (member.AddedAt ?? member.CreatedAt) < PendingBindingWindow);
            if (holdsPlace && ++ahead >= cap)
            {
                return true;
            }
        }

        return false;
    }

    public static SessionLimitExceededException Exceeded(string userId, int cap) =>
        new($"The user already has {cap} sessions, the most Sessions:MaxSessionsPerUser allows, and Sessions:SessionLimitMode is Refuse: the session was not bound to the user. Sign out elsewhere (or revoke a session) and sign in again.")
        {
            UserId = userId,
            MaxSessionsPerUser = cap,
        };

    // The index's members whose session exists, has not expired, and is still bound to the user, with their place in the
    // index; and the members that are surely dead (see IsDead).
    private async ValueTask<(List<LiveSession> Live, List<string> Dead)> ReadLiveAsync(string userId, List<UserIndexMember> members, string? replacedKey, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var live = new List<LiveSession>(members.Count);
        var dead = new List<string>();
        for (var i = 0; i < members.Count; i++)
        {
            var key = members[i].Key;
            if (key == replacedKey)
            {
                continue;
            }

            var record = await backend.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (records.IsLiveFor(record, key, userId, now, out _))
            {
                live.Add(new LiveSession(key, i, record.ExpiresAt));
            }
            else if (IsDead(record, members[i], now))
            {
                dead.Add(key);
            }
        }

        return (live, dead);
    }

    /// <summary>
    /// Whether a member that is not live (see <see cref="SessionRecords.IsLiveFor"/>) can be dropped from the index: its record is there but
    /// expired, moved, unreadable or bound to someone else, or it has been missing for longer than
    /// <see cref="PendingBindingWindow"/> (a member added more recently may be a binding whose session write is in flight).
    /// </summary>
    internal static bool IsDead(SessionRecord? record, UserIndexMember member, DateTimeOffset now) =>
        record is not null || now - (member.AddedAt ?? member.CreatedAt) >= PendingBindingWindow;

    private readonly record struct LiveSession(string Key, int Position, DateTimeOffset ExpiresAt);
}
