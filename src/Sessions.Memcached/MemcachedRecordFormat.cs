using System.Buffers.Binary;

namespace Sessions.Memcached;

/// <summary>
/// How a session record is laid out in a memcached value: a 17-byte header (a format byte, the version as a
/// little-endian int64, the expiry as little-endian Unix milliseconds) followed by the payload. The header carries the
/// exact version and expiry, which memcached cannot: its CAS value changes on every write and its TTL counts whole seconds.
/// </summary>
internal static class MemcachedRecordFormat
{
    public const int HeaderLength = 17;
    public const byte FormatV1 = 0x53; // 'S'

    public static byte[] Header(long version, DateTimeOffset expiresAt)
    {
        var header = new byte[HeaderLength];
        header[0] = FormatV1;
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(1), version);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(9), expiresAt.ToUnixTimeMilliseconds());
        return header;
    }

    /// <summary>Reads the header of <paramref name="value"/>; <see langword="false"/> when it is not a Sessions record.</summary>
    public static bool TryRead(byte[] value, out long version, out DateTimeOffset expiresAt)
    {
        if (value.Length < HeaderLength || value[0] != FormatV1)
        {
            version = 0;
            expiresAt = default;
            return false;
        }

        version = BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(1));
        var ms = BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(9));
        expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(ms, DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
        return true;
    }
}
