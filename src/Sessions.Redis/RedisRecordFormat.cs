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
/// The key also carries a native expiry, so Redis drops the record by itself; the header's expiry makes reads exact.
/// </summary>
internal static class RedisRecordFormat
{
    public const byte Format = 1;
    public const int HeaderLength = 17;
    public const int VersionOffset = 1;
    public const int ExpiryOffset = 9;

    /// <summary>
    /// Writes the record (header and payload) into <paramref name="destination"/>, which must hold at least
    /// <see cref="HeaderLength"/> + <paramref name="payload"/>.Length bytes.
    /// </summary>
    /// <returns>The bytes written.</returns>
    public static int Write(Span<byte> destination, long version, long expiresAtMs, ReadOnlySpan<byte> payload)
    {
        destination[0] = Format;
        BinaryPrimitives.WriteInt64BigEndian(destination[VersionOffset..], version);
        BinaryPrimitives.WriteInt64BigEndian(destination[ExpiryOffset..], expiresAtMs);
        payload.CopyTo(destination[HeaderLength..]);
        return HeaderLength + payload.Length;
    }

    /// <summary>A 64-bit number as the scripts compare it: the 8 header bytes, big-endian, into <paramref name="destination"/>.</summary>
    public static void WriteBigEndian(Span<byte> destination, long value) => BinaryPrimitives.WriteInt64BigEndian(destination, value);

    /// <summary>Reads the header; <see langword="false"/> when <paramref name="value"/> is not a record of this format.</summary>
    public static bool TryRead(ReadOnlySpan<byte> value, out long version, out long expiresAtMs)
    {
        if (value.Length < HeaderLength || value[0] != Format)
        {
            version = expiresAtMs = 0;
            return false;
        }

        version = BinaryPrimitives.ReadInt64BigEndian(value[VersionOffset..]);
        expiresAtMs = BinaryPrimitives.ReadInt64BigEndian(value[ExpiryOffset..]);
        return true;
    }
}
