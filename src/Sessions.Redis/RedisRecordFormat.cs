using System.Buffers.Binary;

namespace Sessions.Redis;

/// <summary>
/// How a session record is stored: one Redis string, a 17-byte header followed by the payload verbatim.
/// <code>
/// byte 0       format (1)
/// bytes 1-8    version, signed 64-bit big-endian (compared byte for byte by the Lua scripts, so no double rounding)
/// bytes 9-16   expiry, Unix milliseconds, signed 64-bit big-endian (what GetAsync returns and checks against the clock)
/// bytes 17-    payload
/// </code>
/// The key also carries a native expiry (<c>PX</c>), so Redis drops the record by itself; the header's expiry makes reads exact.
/// </summary>
internal static class RedisRecordFormat
{
    public const byte Format = 1;
    public const int HeaderLength = 17;
    public const int VersionOffset = 1;
    public const int ExpiryOffset = 9;

    public static byte[] Header(long version, long expiresAtMs)
    {
        var header = new byte[HeaderLength];
        header[0] = Format;
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(VersionOffset), version);
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(ExpiryOffset), expiresAtMs);
        return header;
    }

    public static byte[] Int64(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    public static bool TryRead(byte[] value, out long version, out long expiresAtMs)
    {
        if (value.Length < HeaderLength || value[0] != Format)
        {
            version = expiresAtMs = 0;
            return false;
        }

        version = BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(VersionOffset));
        expiresAtMs = BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(ExpiryOffset));
        return true;
    }
}
