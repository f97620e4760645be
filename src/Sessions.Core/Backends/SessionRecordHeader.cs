using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Sessions.Backends;

/// <summary>
/// The version + expiry + payload layout for stores that keep a session as one opaque value and have no exact native
/// version or expiry (Redis, memcached, a file). A record is a 17-byte header, then the payload verbatim:
/// <code>
/// byte  0      tag: 1 (this layout)
/// bytes 1-8    version, signed 64-bit big-endian (so equal versions are equal bytes, which a store script can compare)
/// bytes 9-16   expiry, Unix milliseconds, signed 64-bit big-endian
/// bytes 17-    payload
/// </code>
/// </summary>
/// <remarks>The expiry must lie within <see cref="DateTimeOffset"/>'s range (years 1 to 9999); a header whose tag is
/// not <see cref="Tag"/>, that is shorter than <see cref="Length"/> or whose expiry is out of range is not a record.</remarks>
public static class SessionRecordHeader
{
    /// <summary>The header's length in bytes: 17.</summary>
    public const int Length = 17;

    /// <summary>The first byte of every record in this layout: 1.</summary>
    public const byte Tag = 1;

    private static readonly long MinUnixMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    /// <summary>Writes the header and then <paramref name="payload"/> at the start of <paramref name="destination"/>.</summary>
    /// <param name="destination">At least <see cref="Length"/> + <paramref name="payload"/>.Length bytes.</param>
    /// <param name="version">The record's version.</param>
    /// <param name="expiresAtUnixMs">The record's expiry, Unix milliseconds.</param>
    /// <param name="payload">The payload; empty to write the header alone.</param>
    /// <returns>The bytes written: <see cref="Length"/> + <paramref name="payload"/>.Length.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static int Write(Span<byte> destination, long version, long expiresAtUnixMs, ReadOnlySpan<byte> payload)
    {
        if (destination.Length < Length + payload.Length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the record needs {Length + payload.Length}.", nameof(destination));
        }

        destination[0] = Tag;
        BinaryPrimitives.WriteInt64BigEndian(destination[1..], version);
        BinaryPrimitives.WriteInt64BigEndian(destination[9..], expiresAtUnixMs);
        payload.CopyTo(destination[Length..]);
        return Length + payload.Length;
    }

    /// <summary>Reads the header at the start of <paramref name="value"/>.</summary>
    /// <param name="value">The stored bytes (at least the header).</param>
    /// <param name="version">The version, when the result is <see langword="true"/>.</param>
    /// <param name="expiresAtUnixMs">The expiry in Unix milliseconds, within <see cref="DateTimeOffset"/>'s range, when the result is <see langword="true"/>.</param>
    /// <returns><see langword="false"/> when <paramref name="value"/> does not start with a header of this layout.</returns>
    public static bool TryRead(ReadOnlySpan<byte> value, out long version, out long expiresAtUnixMs)
    {
        version = expiresAtUnixMs = 0;
        if (value.Length < Length || value[0] != Tag)
        {
            return false;
        }

        var expiry = BinaryPrimitives.ReadInt64BigEndian(value[9..]);
        if (expiry < MinUnixMs || expiry > MaxUnixMs)
        {
            return false;
        }

        version = BinaryPrimitives.ReadInt64BigEndian(value[1..]);
        expiresAtUnixMs = expiry;
        return true;
    }

    /// <summary>Reads a whole record (header and payload); the payload is a slice of <paramref name="value"/>, not a copy.</summary>
    /// <param name="value">The stored bytes.</param>
    /// <param name="record">The record, expired or not, when the result is <see langword="true"/>.</param>
    /// <returns><see langword="false"/> when <paramref name="value"/> is not a record of this layout.</returns>
    public static bool TryRead(ReadOnlyMemory<byte> value, [NotNullWhen(true)] out SessionRecord? record)
    {
        record = TryRead(value.Span, out var version, out var expiresAtUnixMs)
            ? new SessionRecord(value[Length..], DateTimeOffset.FromUnixTimeMilliseconds(expiresAtUnixMs), version)
            : null;
        return record is not null;
    }
}
