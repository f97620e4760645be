using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sessions.Backends;

namespace Sessions.Engine;

/// <summary>
/// One session in a user's index: its storage key, when it was created, a description of the client, and when it was added
/// to the index (by the binding's clock; <see langword="null"/> in entries written before that was recorded).
/// </summary>
internal sealed record UserIndexMember(string Key, DateTimeOffset CreatedAt, string? ClientDescription, DateTimeOffset? AddedAt = null);

/// <summary>
/// The generic per-user index that lets every backend list and revoke a user's sessions: one record per user under
/// <c>{prefix}u:{hash(user)}</c>, holding the storage keys (never the session IDs) of the user's sessions, updated with
/// conditional writes and pruned of members whose session no longer exists when it is read. Members keep the order in
/// which they were added (a removal never reorders the rest; a session bound again moves to the end), and every change is a
/// conditional write, so all readers agree on who was added before whom.
/// </summary>
internal sealed class UserSessionIndex
{
    /// <summary>The most sessions one user's index holds; the oldest are dropped beyond it (their sessions still work).</summary>
    public const int MaxMembers = 500;
    private const int MaxAttempts = 32;

    private static readonly System.Buffers.SearchValues<char> HandleChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private readonly SessionStore _store;

    public UserSessionIndex(SessionStore store) => _store = store;

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
            var entry = member.AddedAt is null ? member with { AddedAt = _store.UtcNow() } : member;
            if (replacing is not null && TryPutInPlaceOf(members, replacing, entry))
            {
                return true;
            }

            members.RemoveAll(m => m.Key == member.Key);
            members.Add(entry);
            if (members.Count > MaxMembers)
            {
                members.Sort((a, b) => a.CreatedAt.CompareTo(b.CreatedAt));
                members.RemoveRange(0, members.Count - MaxMembers);
            }

            return true;
        }, cancellationToken);

    /// <summary>Puts <paramref name="member"/> in the place of <paramref name="key"/>, if the index holds that key; else changes nothing.</summary>
    public ValueTask ReplaceAsync(string userId, string key, UserIndexMember member, CancellationToken cancellationToken) =>
        UpdateAsync(userId, members => TryPutInPlaceOf(members, key, member), cancellationToken);

    public ValueTask RemoveAsync(string userId, string key, CancellationToken cancellationToken) =>
        UpdateAsync(userId, members => members.RemoveAll(m => m.Key == key) > 0, cancellationToken);

    public ValueTask RemoveAsync(string userId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        UpdateAsync(userId, members => members.RemoveAll(m => keys.Contains(m.Key)) > 0, cancellationToken);

    /// <summary>Keeps the index alive as long as the user's most recently active session.</summary>
    public async ValueTask TouchAsync(string userId, CancellationToken cancellationToken) =>
        await _store.TouchRawAsync(_store.Keys.ForUser(userId), IndexExpiry(), cancellationToken).ConfigureAwait(false);

    public async ValueTask<List<UserIndexMember>> ReadAsync(string userId, CancellationToken cancellationToken)
    {
        var record = await _store.GetRawAsync(_store.Keys.ForUser(userId), cancellationToken).ConfigureAwait(false);
        return record is null ? [] : Decode(record.Payload.Span);
    }

    public async ValueTask DeleteAsync(string userId, CancellationToken cancellationToken) =>
        await _store.RemoveRawAsync(_store.Keys.ForUser(userId), null, cancellationToken).ConfigureAwait(false);

    private DateTimeOffset IndexExpiry()
    {
        // Every save or touch of a bound session refreshes the index to now + idle timeout, which is at least that session's
        // own expiry; a minute more covers clock steps between the two writes.
        var options = _store.Options;
        return _store.UtcNow() + options.IdleTimeout + TimeSpan.FromMinutes(1);
    }

    private async ValueTask UpdateAsync(string userId, Func<List<UserIndexMember>, bool> change, CancellationToken cancellationToken)
    {
        var key = _store.Keys.ForUser(userId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await _store.GetRawAsync(key, cancellationToken).ConfigureAwait(false);
            var members = current is null ? [] : Decode(current.Payload.Span);
            if (!change(members))
            {
                return;
            }

            bool written;
            if (members.Count == 0)
            {
                written = current is null || await _store.RemoveRawAsync(key, current.Version, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var record = new SessionRecord(Encode(members), IndexExpiry(), (current?.Version ?? 0) + 1);
                var condition = current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(current.Version);
                written = await _store.SetRawAsync(key, record, condition, cancellationToken).ConfigureAwait(false);
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

    internal static byte[] Encode(List<UserIndexMember> members)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 + (members.Count * 128));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", 1);
            writer.WriteStartArray("m");
            foreach (var member in members)
            {
                writer.WriteStartObject();
                writer.WriteString("k", member.Key);
                writer.WriteNumber("c", member.CreatedAt.ToUnixTimeMilliseconds());
                if (member.AddedAt is { } added)
                {
                    writer.WriteNumber("a", added.ToUnixTimeMilliseconds());
                }

                if (member.ClientDescription is { } description)
                {
                    writer.WriteString("d", description.Length > 256 ? description[..256] : description);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static List<UserIndexMember> Decode(ReadOnlySpan<byte> payload)
    {
        // An unreadable index is treated as empty: it only ever lists sessions, it never grants access.
        var members = new List<UserIndexMember>();
        try
        {
            using var document = JsonDocument.Parse(payload.ToArray());
            if (!document.RootElement.TryGetProperty("m", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                return members;
            }

            foreach (var item in array.EnumerateArray())
            {
                if (item.TryGetProperty("k", out var k) && k.GetString() is { } key && SessionKeys.IsValid(key)
                    && item.TryGetProperty("c", out var c) && c.TryGetInt64(out var created))
                {
                    var description = item.TryGetProperty("d", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                    DateTimeOffset? added = item.TryGetProperty("a", out var a) && a.TryGetInt64(out var addedMs) ? DateTimeOffset.FromUnixTimeMilliseconds(addedMs) : null;
                    members.Add(new UserIndexMember(key, DateTimeOffset.FromUnixTimeMilliseconds(created), description, added));
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            members.Clear();
        }

        return members;
    }
}
