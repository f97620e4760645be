using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Sessions.Backends;

namespace Sessions.Engine;
/// <summary>What a bound session's save or touch found in its user's index (see <see cref="UserSessionIndex.KeepMemberAsync"/>).</summary>
internal enum IndexMembership
{
    /// <summary>The index lists the session (its expiry was extended).</summary>
    Member,

    /// <summary>The index was missing or did not list the session, and the session added itself back.</summary>
    Healed,

    /// <summary>As <see cref="Healed"/>, and the first heal of this index since it was created: the loss is logged once.</summary>
    HealedFirst,

    /// <summary>
    /// The index did not list the session, and the user's sessions were revoked after it was created: a revocation missed
    /// it (its index was lost), so the session must end.
    /// </summary>
    Revoked,
}

/// <summary>
/// The generic per-user index that lets every backend list and revoke a user's sessions: one record per user under
/// <c>{prefix}u:{hash(user)}</c>, holding the storage keys (never the session IDs) of the user's sessions, updated with
/// conditional writes and pruned of dead members when it is listed or grows past the user's limit. Members keep the order
/// in which they were added (a removal never reorders the rest; a session bound again moves to the end), and every change
/// is a conditional write, so all readers agree on who was added before whom.
/// </summary>
/// <remarks>
/// A store that evicts (memcached, Redis with an <c>allkeys-*</c> policy) can drop the index while the sessions it lists
/// live on. The record therefore also carries when it was created (<c>"c"</c>) and when a session last healed it
/// (<c>"h"</c>); a bound session's save or touch brings itself back (<see cref="KeepMemberAsync"/>), and a revocation
/// leaves a marker (<c>{prefix}u:{hash(user)}:r</c>, the time of the revocation) so that a session it missed ends at its
/// next check instead of healing. The engine's README states what is left.
/// </remarks>
/// <param name="backend">Where the index records are stored.</param>
/// <param name="keys">Builds the index keys.</param>
/// <param name="time">The clock.</param>
/// <param name="idleTimeout">The sessions' idle timeout: an index lives a minute longer than its latest session.</param>
internal sealed class UserSessionIndex(BackendAccessor backend, SessionKeyBuilder keys, TimeProvider time, TimeSpan idleTimeout)
{
    /// <summary>
    /// The most live sessions one user's index holds (500): beyond it, the user's least recently used sessions are ended
    /// (see <see cref="UserSessionCap"/>), never silently dropped from the index.
    /// </summary>
    public const int MaxMembers = 500;
    private const int MaxAttempts = 32;
    private const string RevocationSuffix = ":r";

    private static readonly System.Buffers.SearchValues<char> HandleChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>Whether <paramref name="value"/> has the shape of a handle (16 base64url characters; a session ID is longer).</summary>
    public static bool IsHandle(string value) => value.Length == 16 && value.AsSpan().IndexOfAnyExcept(HandleChars) < 0;

    /// <summary>A short, stable, non-secret handle for a storage key, shown to users in place of the key: 12 bytes of its SHA-256, base64url (16 characters).</summary>
    public static string HandleFor(string storageKey)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.ASCII.GetBytes(storageKey), hash);
        return Base64Url.EncodeToString(hash[..12]);
    }

    /// <summary>
    /// Adds <paramref name="member"/> at the end of the user's index, or in the place of <paramref name="replacing"/> when
    /// the index holds that key (a regenerated session keeps its rank).
    /// </summary>
    public ValueTask AddAsync(string userId, UserIndexMember member, CancellationToken cancellationToken, string? replacing = null) =>
        UpdateAsync(userId, members =>
        {
            var entry = member.AddedAt is null ? member with { AddedAt = time.GetUtcNow() } : member;
            if (replacing is not null && TryPutInPlaceOf(members, replacing, entry))
            {
                return true;
            }

            // Never trimmed here: a live member dropped from the index would escape revocation. The user's limit is kept
            // after the binding is written (UserSessionCap), which prunes dead members and ends live ones beyond it.
            members.RemoveAll(m => m.Key == member.Key);
            members.Add(entry);
            return true;
        }, cancellationToken);

    /// <summary>Puts <paramref name="member"/> in the place of <paramref name="key"/>, if the index holds that key; else changes nothing.</summary>
    public ValueTask ReplaceAsync(string userId, string key, UserIndexMember member, CancellationToken cancellationToken) =>
        UpdateAsync(userId, members => TryPutInPlaceOf(members, key, member), cancellationToken);

    public ValueTask RemoveAsync(string userId, string key, CancellationToken cancellationToken) =>
        UpdateAsync(userId, members => members.RemoveAll(m => m.Key == key) > 0, cancellationToken);

    public ValueTask RemoveAsync(string userId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        UpdateAsync(userId, members => members.RemoveAll(m => keys.Contains(m.Key)) > 0, cancellationToken);

    /// <summary>
    /// After a bound session's save or touch: makes sure the user's index still lists it. One read of the index, then a
    /// touch when it does (the same touch as before this check); when the index is missing or does not list the session
    /// (an evicting store dropped it, or it was dropped and recreated by a later sign-in), reads the user's revocation
    /// marker and either adds the session back (a conditional write, so racing heals and sign-ins lose no member) or, when
    /// the user's sessions were revoked after this one was created, reports <see cref="IndexMembership.Revoked"/>.
    /// </summary>
    public async ValueTask<IndexMembership> KeepMemberAsync(string userId, UserIndexMember member, CancellationToken cancellationToken)
    {
        var key = keys.ForUser(userId);
        var current = await backend.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (current is not null && Decode(current.Payload.Span).Exists(m => m.Key == member.Key))
        {
            await backend.TouchAsync(key, IndexExpiry(), cancellationToken).ConfigureAwait(false);
            return IndexMembership.Member;
        }

        if (await RevokedAtAsync(userId, cancellationToken).ConfigureAwait(false) is { } revokedAt && member.CreatedAt <= revokedAt)
        {
            return IndexMembership.Revoked;
        }

        var outcome = IndexMembership.Member;
        var now = time.GetUtcNow();
        await UpdateAsync(userId, state =>
        {
            if (state.Members.Exists(m => m.Key == member.Key))
            {
                outcome = IndexMembership.Member;
                return false;
            }

            outcome = state.HealedAt is null ? IndexMembership.HealedFirst : IndexMembership.Healed;
            state.HealedAt = now;
            state.Members.Add(member with { AddedAt = now });
            return true;
        }, cancellationToken).ConfigureAwait(false);

        if (outcome == IndexMembership.Member)
        {
            // Listed after all (another request of this session healed it meanwhile): extend it as a member's check does.
            await backend.TouchAsync(key, IndexExpiry(), cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    /// <summary>
    /// Records that every session of the user created before <paramref name="revokedAt"/> is revoked, for as long as such a
    /// session can live (the idle timeout, plus a minute for clocks): a session the revocation missed (its index was lost)
    /// ends at its next check instead of healing the index.
    /// </summary>
    public async ValueTask MarkRevokedAsync(string userId, DateTimeOffset revokedAt, CancellationToken cancellationToken)
    {
        var key = RevocationKey(userId);
        var payload = UserIndexFormat.EncodeMarker(revokedAt);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await backend.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (current is not null && UserIndexFormat.DecodeMarker(current.Payload.Span) is { } existing && existing >= revokedAt)
            {
                return;
            }

            var record = new SessionRecord(payload, IndexExpiry(), (current?.Version ?? 0) + 1);
            var condition = current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(current.Version);
            if (await backend.SetAsync(key, record, condition, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }

        throw new SessionConflictException($"The revocation marker of a user kept changing under this request ({MaxAttempts} conflicting writes in a row).");
    }

    /// <summary>When the user's sessions were last revoked, if that is recent enough to matter (see <see cref="MarkRevokedAsync"/>).</summary>
    public async ValueTask<DateTimeOffset?> RevokedAtAsync(string userId, CancellationToken cancellationToken)
    {
        var record = await backend.GetAsync(RevocationKey(userId), cancellationToken).ConfigureAwait(false);
        return record is null || record.ExpiresAt <= time.GetUtcNow() ? null : UserIndexFormat.DecodeMarker(record.Payload.Span);
    }

    /// <summary>The user's index record as stored: its members, when it was created and last healed; <see langword="null"/> when missing.</summary>
    public async ValueTask<IndexState?> ReadStateAsync(string userId, CancellationToken cancellationToken)
    {
        var record = await backend.GetAsync(keys.ForUser(userId), cancellationToken).ConfigureAwait(false);
        return record is null ? null : DecodeState(record.Payload.Span);
    }

    private string RevocationKey(string userId) => keys.ForUser(userId) + RevocationSuffix;

    /// <summary>Keeps the index alive as long as the user's most recently active session. Returns false when the index is missing.</summary>
    public async ValueTask<bool> TouchAsync(string userId, CancellationToken cancellationToken) =>
        await backend.TouchAsync(keys.ForUser(userId), IndexExpiry(), cancellationToken).ConfigureAwait(false);

    public async ValueTask<List<UserIndexMember>> ReadAsync(string userId, CancellationToken cancellationToken)
    {
        var record = await backend.GetAsync(keys.ForUser(userId), cancellationToken).ConfigureAwait(false);
        return record is null ? [] : Decode(record.Payload.Span);
    }

    public async ValueTask DeleteAsync(string userId, CancellationToken cancellationToken) =>
        await backend.RemoveAsync(keys.ForUser(userId), null, cancellationToken).ConfigureAwait(false);

    private DateTimeOffset IndexExpiry()
    {
        // Every save or touch of a bound session refreshes the index to now + idle timeout, which is at least that session's
        // own expiry; a minute more covers clock steps between the two writes.
        return time.GetUtcNow() + idleTimeout + TimeSpan.FromMinutes(1);
    }

    private ValueTask UpdateAsync(string userId, Func<List<UserIndexMember>, bool> change, CancellationToken cancellationToken) =>
        UpdateAsync(userId, state => change(state.Members), cancellationToken);

    private async ValueTask UpdateAsync(string userId, Func<IndexState, bool> change, CancellationToken cancellationToken)
    {
        var key = keys.ForUser(userId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await backend.GetAsync(key, cancellationToken).ConfigureAwait(false);

            // An index created now records when: one younger than a session can live unchecked may have replaced a lost one.
            var state = current is null ? new IndexState([], time.GetUtcNow(), null) : DecodeState(current.Payload.Span);
            if (!change(state))
            {
                return;
            }

            var members = state.Members;
            bool written;
            if (members.Count == 0)
            {
                written = current is null || await backend.RemoveAsync(key, current.Version, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var record = new SessionRecord(UserIndexFormat.Encode(members, state.CreatedAt, state.HealedAt), IndexExpiry(), (current?.Version ?? 0) + 1);
                var condition = current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(current.Version);
                written = await backend.SetAsync(key, record, condition, cancellationToken).ConfigureAwait(false);
            }

            if (written)
            {
                return;
            }

            if (attempt >= 1)
            {
                // Many sign-ins of one user at once: back off a random few ms (growing, at most 64) so the racers spread out.
                await Task.Delay(Random.Shared.Next(1, 1 << Math.Min(attempt + 1, 6)), CancellationToken.None).ConfigureAwait(false);
            }
        }

        throw new SessionConflictException($"The session index of a user kept changing under this request ({MaxAttempts} conflicting writes in a row).");
    }

    // Puts entry in the place of key (dropping any other entry of entry's key), when the index holds key.
    private static bool TryPutInPlaceOf(List<UserIndexMember> members, string key, UserIndexMember entry)
    {
        if (!members.Exists(m => m.Key == key))
        {
            return false;
        }

        members.RemoveAll(m => m.Key == entry.Key && m.Key != key);
        members[members.FindIndex(m => m.Key == key)] = entry;
        return true;
    }

    internal static byte[] Encode(List<UserIndexMember> members, DateTimeOffset? createdAt, DateTimeOffset? healedAt) => UserIndexFormat.Encode(members, createdAt, healedAt);

    internal static List<UserIndexMember> Decode(ReadOnlySpan<byte> payload) => UserIndexFormat.Decode(payload);

    internal static IndexState DecodeState(ReadOnlySpan<byte> payload) => UserIndexFormat.DecodeState(payload);
}
