using System.Buffers.Binary;
using Sessions.Redis.Protocol;

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
    public const int HeaderLength = RedisArg.HeaderLength; // written by RedisArg.Headed: format byte, version, expiry
    public const int VersionOffset = 1;
    public const int ExpiryOffset = 9;

    /// <summary>The record as one command argument: header and payload, written straight into the command's bytes.</summary>
    public static RedisArg Value(long version, long expiresAtMs, ReadOnlyMemory<byte> payload) =>
        RedisArg.Headed(Format, version, expiresAtMs, payload);

    /// <summary>A version as the scripts compare it: the 8 header bytes.</summary>
    public static RedisArg Version(long version) => RedisArg.BigEndian(version);

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
