using Sessions.Engine;
using Sessions.Envelope;

namespace Sessions.Management;

/// <summary>
/// Reads stored records outside requests, for operations tools (the <c>sessions</c> command-line tool): tells session
/// records from user index records, decodes a session's envelope, computes a key's handle and merges two user indexes
/// when records are copied between stores. Never needs or reveals a session ID.
/// </summary>
public static class SessionRecordInspector
{
    /// <summary>What follows the key prefix in the key of a user's index record (<c>{prefix}u:{hash}</c>).</summary>
    public const string UserIndexInfix = "u:";

    /// <summary>Whether <paramref name="key"/> is the key of a user's index record rather than of a session.</summary>
    /// <param name="key">A storage key.</param>
    /// <param name="prefix">The key prefix in force (<see cref="SessionOptions.KeyPrefix"/>).</param>
    /// <returns><see langword="true"/> for <c>{prefix}u:...</c>; session keys never contain a colon after the prefix (base64url).</returns>
    public static bool IsUserIndexKey(string key, string prefix)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(prefix);
        return key.Length > prefix.Length + UserIndexInfix.Length
            && key.StartsWith(prefix, StringComparison.Ordinal)
            && string.CompareOrdinal(key, prefix.Length, UserIndexInfix, 0, UserIndexInfix.Length) == 0;
    }

    /// <summary>The handle under which a session stored under <paramref name="storageKey"/> is listed (<see cref="SessionInfo.Handle"/>).</summary>
    /// <param name="storageKey">The session's storage key.</param>
    /// <returns>The handle: 16 base64url characters of the key's SHA-256; not secret, useless as a session ID.</returns>
    public static string HandleFor(string storageKey)
    {
        ArgumentNullException.ThrowIfNull(storageKey);
        return UserSessionIndex.HandleFor(storageKey);
    }

    /// <summary>Decodes a session record's payload (the envelope, JSON or binary format).</summary>
    /// <param name="payload">The record's payload, as stored.</param>
    /// <param name="description">The decoded session, when the payload is a session envelope.</param>
    /// <returns><see langword="false"/> when the payload is not a readable envelope (corrupt, or a user index record).</returns>
    public static bool TryDescribe(ReadOnlySpan<byte> payload, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SessionRecordDescription? description)
    {
        description = null;
        if (!EnvelopeCodec.TryDecode(payload, out var envelope))
        {
            return false;
        }

        var values = new SortedDictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        foreach (var (name, value) in envelope.Entries)
        {
            values[name] = value;
        }

        description = new SessionRecordDescription(envelope.CreatedAt, envelope.AbsoluteDeadline, envelope.UserId, envelope.IsPersistent, values);
        return true;
    }

    /// <summary>Lists the storage keys of the sessions in a user's index record.</summary>
    /// <param name="payload">The index record's payload.</param>
    /// <returns>The member keys; empty when the payload is unreadable (an index only lists sessions, it never grants access).</returns>
    public static IReadOnlyList<string> ReadUserIndex(ReadOnlySpan<byte> payload) =>
        [.. UserSessionIndex.Decode(payload).Select(m => m.Key)];

    /// <summary>
    /// Merges two user index payloads (for a copy between stores where both hold an index for the same user): the union of
    /// their members, each key once (the entry of <paramref name="first"/> wins). Nothing is dropped, even beyond the index's
    /// limit of 500: a live session missing from its index would escape revocation; the user's next sign-in prunes the dead
    /// members and ends the least recently used live ones beyond the limit.
    /// </summary>
    /// <param name="first">One index payload.</param>
    /// <param name="second">The other index payload.</param>
    /// <returns>The merged payload, in the index's format.</returns>
    public static byte[] MergeUserIndexes(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var members = UserSessionIndex.Decode(first);
        foreach (var member in UserSessionIndex.Decode(second))
        {
            if (!members.Exists(m => string.Equals(m.Key, member.Key, StringComparison.Ordinal)))
            {
                members.Add(member);
            }
        }

        var state = UserSessionIndex.DecodeState(first);
        return UserSessionIndex.Encode(members, state.CreatedAt, state.HealedAt);
    }
}

/// <summary>A decoded session record (see <see cref="SessionRecordInspector.TryDescribe"/>).</summary>
/// <param name="CreatedAt">When the session was created.</param>
/// <param name="AbsoluteDeadline">When it ends whatever its use (<see cref="SessionOptions.AbsoluteTimeout"/>), if set.</param>
/// <param name="UserId">The user it is bound to, if any.</param>
/// <param name="IsPersistent">Whether its cookie outlives the browser session.</param>
/// <param name="Values">Its values by key, as the bytes the app stored, sorted by key (ordinal).</param>
public sealed record SessionRecordDescription(
    DateTimeOffset CreatedAt,
    DateTimeOffset? AbsoluteDeadline,
    string? UserId,
    bool IsPersistent,
    IReadOnlyDictionary<string, ReadOnlyMemory<byte>> Values);
