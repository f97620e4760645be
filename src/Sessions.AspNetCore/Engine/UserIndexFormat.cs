using System.Text.Json;
using Sessions.Backends;

namespace Sessions.Engine;

/// <summary>
/// One session in a user's index: its storage key, when it was created, a description of the client, and when it was added
/// to the index (by the binding's clock; <see langword="null"/> in entries written before that was recorded).
/// </summary>
internal sealed record UserIndexMember(string Key, DateTimeOffset CreatedAt, string? ClientDescription, DateTimeOffset? AddedAt = null);

/// <summary>
/// The stored form of a user's index and of its revocation marker: small JSON documents, <c>{"v":1,"c":created,"h":healed,
/// "m":[{"k":key,"c":created,"a":added,"d":client}]}</c> (times in Unix milliseconds), and the marker as an index with
/// no members plus <c>"r"</c>, the time of the revocation. An unreadable index reads as empty: it only ever lists
/// sessions, it never grants access.
/// </summary>
internal static class UserIndexFormat
{
    public static byte[] Encode(List<UserIndexMember> members) => Encode(members, null, null);

    public static byte[] Encode(List<UserIndexMember> members, DateTimeOffset? createdAt, DateTimeOffset? healedAt)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 + (members.Count * 128));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", 1);
            if (createdAt is { } created)
            {
                writer.WriteNumber("c", created.ToUnixTimeMilliseconds());
            }

            if (healedAt is { } healed)
            {
                writer.WriteNumber("h", healed.ToUnixTimeMilliseconds());
            }

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

    public static List<UserIndexMember> Decode(ReadOnlySpan<byte> payload) => DecodeState(payload).Members;

    public static IndexState DecodeState(ReadOnlySpan<byte> payload)
    {
        // An unreadable index is treated as empty: it only ever lists sessions, it never grants access.
        var members = new List<UserIndexMember>();
        var state = new IndexState(members, null, null);
        try
        {
            using var document = JsonDocument.Parse(payload.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return state;
            }

            state.CreatedAt = MillisecondsOrNull(root, "c");
            state.HealedAt = MillisecondsOrNull(root, "h");
            if (!root.TryGetProperty("m", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                return state;
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

        return state;
    }

    public static byte[] EncodeMarker(DateTimeOffset revokedAt)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(48);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", 1);
            writer.WriteStartArray("m");
            writer.WriteEndArray();
            writer.WriteNumber("r", revokedAt.ToUnixTimeMilliseconds());
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // The marker reads as an index with no members (for tools that list "u:" records) plus the time of the revocation.
    public static DateTimeOffset? DecodeMarker(ReadOnlySpan<byte> payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload.ToArray());
            return document.RootElement.ValueKind == JsonValueKind.Object ? MillisecondsOrNull(document.RootElement, "r") : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static DateTimeOffset? MillisecondsOrNull(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var ms))
        {
            return null;
        }

        try
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}

/// <summary>A user's index record, decoded: its members, when it was created, and when a session last healed it (null when unknown or never).</summary>
internal sealed class IndexState(List<UserIndexMember> members, DateTimeOffset? createdAt, DateTimeOffset? healedAt)
{
    public List<UserIndexMember> Members { get; } = members;

    public DateTimeOffset? CreatedAt { get; set; } = createdAt;

    public DateTimeOffset? HealedAt { get; set; } = healedAt;
}
