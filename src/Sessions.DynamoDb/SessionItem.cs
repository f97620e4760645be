using System.Globalization;
using System.Runtime.InteropServices;
using Amazon.DynamoDBv2.Model;
using Sessions.Backends;

namespace Sessions.DynamoDb;

/// <summary>
/// How one session is stored: one item per key. <c>pk</c> (S) is the storage key, <c>payload</c> (B) the bytes (left out
/// when empty), <c>version</c> (N) the record version, <c>expires_ms</c> (N) the exact expiry in Unix milliseconds, which
/// every read and condition checks, and <c>ttl</c> (N) the expiry in Unix seconds, rounded up, for DynamoDB's own
/// (lazy) time-to-live deletion.
/// </summary>
internal static class SessionItem
{
    public const string KeyAttribute = "pk";
    public const string PayloadAttribute = "payload";
    public const string VersionAttribute = "version";
    public const string ExpiresMsAttribute = "expires_ms";
    public const string TtlAttribute = "ttl";

    /// <summary>DynamoDB's item size limit (400 KB, counting attribute names and values).</summary>
    public const int MaxItemBytes = 400 * 1024;

    // Attribute names and the largest possible numbers: what an item holds besides its key and payload, rounded up.
    private const int Overhead = 128;

    public static Dictionary<string, AttributeValue> Key(string key) => new(1) { [KeyAttribute] = new AttributeValue { S = key } };

    public static Dictionary<string, AttributeValue> Encode(string key, SessionRecord record)
    {
        var expiresMs = ExpiresMs(record.ExpiresAt);
        var item = new Dictionary<string, AttributeValue>(5)
        {
            [KeyAttribute] = new AttributeValue { S = key },
            [VersionAttribute] = Number(record.Version),
            [ExpiresMsAttribute] = Number(expiresMs),
            [TtlAttribute] = Number(TtlSeconds(expiresMs)),
        };
        if (!record.Payload.IsEmpty)
        {
            item[PayloadAttribute] = new AttributeValue { B = Stream(record.Payload) };
        }

        return item;
    }

    /// <summary>The record an item holds, or <see langword="null"/> when there is no item or it is not a session item.</summary>
    public static SessionRecord? Decode(Dictionary<string, AttributeValue>? item)
    {
        if (item is null || item.Count == 0
            || !TryNumber(item, VersionAttribute, out var version)
            || !TryNumber(item, ExpiresMsAttribute, out var expiresMs))
        {
            return null;
        }

        ReadOnlyMemory<byte> payload;
        if (!item.TryGetValue(PayloadAttribute, out var p))
        {
            payload = Array.Empty<byte>();
        }
        else if (p.B is { } bytes)
        {
            payload = bytes.ToArray();
        }
        else
        {
            return null; // a payload of another type (a string, a number): not written by this backend
        }

        return new SessionRecord(payload, DateTimeOffset.FromUnixTimeMilliseconds(expiresMs), version);
    }

    /// <summary>Whether the payload would make the item larger than DynamoDB accepts.</summary>
    public static bool IsTooLarge(string key, SessionRecord record) => key.Length + record.Payload.Length + Overhead > MaxItemBytes;

    /// <summary>The largest payload an item can hold under a key of the given length.</summary>
    public static int MaxPayloadBytes(int keyLength) => MaxItemBytes - Overhead - keyLength;

    public static long ExpiresMs(DateTimeOffset expiresAt) => expiresAt.ToUnixTimeMilliseconds();

    // Rounded up, so DynamoDB's deletion never comes before the exact expiry.
    public static long TtlSeconds(long expiresMs) => (expiresMs / 1000) + (expiresMs % 1000 > 0 ? 1 : 0);

    public static AttributeValue Number(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    private static bool TryNumber(Dictionary<string, AttributeValue> item, string name, out long value)
    {
        value = 0;
        return item.TryGetValue(name, out var attribute)
            && attribute.N is { } n
            && long.TryParse(n, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    // Wraps the caller's array when the payload is one (no copy): the SDK serializes it before SetAsync returns.
    private static MemoryStream Stream(ReadOnlyMemory<byte> payload) =>
        MemoryMarshal.TryGetArray(payload, out var segment) && segment.Array is { } array
            ? new MemoryStream(array, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(payload.ToArray(), writable: false);
}
