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

    /// <summary>The record as one Redis string: header and payload in one new array.</summary>
    public static byte[] Encode(long version, long expiresAtMs, ReadOnlySpan<byte> payload)
    {
        var value = GC.AllocateUninitializedArray<byte>(HeaderLength + payload.Length);
        value[0] = Format;
        BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(VersionOffset), version);
        BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(ExpiryOffset), expiresAtMs);
        payload.CopyTo(value.AsSpan(HeaderLength));
        return value;
    }

    /// <summary>
    /// The expected version (8 bytes) followed by the record (header and payload) in one new array: a conditional write's
    /// two script arguments are slices of it, one allocation instead of two.
    /// </summary>
    public static byte[] EncodeWithExpectedVersion(long expectedVersion, long version, long expiresAtMs, ReadOnlySpan<byte> payload)
    {
        var value = GC.AllocateUninitializedArray<byte>(8 + HeaderLength + payload.Length);
        BinaryPrimitives.WriteInt64BigEndian(value, expectedVersion);
        value[8] = Format;
        BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(8 + VersionOffset), version);
        BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(8 + ExpiryOffset), expiresAtMs);
        payload.CopyTo(value.AsSpan(8 + HeaderLength));
        return value;
    }

    /// <summary>A 64-bit number as the scripts compare it: the 8 header bytes, big-endian.</summary>
    public static byte[] BigEndian(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

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
