using System.Buffers.Binary;
using System.Text;

namespace Sessions.Envelope;

/// <summary>
/// The binary envelope, version 1. Layout (integers little-endian, lengths as unsigned LEB128 varints):
/// <code>
/// 0x01                      format byte (binary, version 1)
/// int64  createdAt          Unix milliseconds
/// int64  absoluteDeadline   Unix milliseconds; 0 = none
/// byte   flags              bit 0: persistent cookie; bit 1: user ID follows
/// [varint n, n bytes]       user ID, UTF-8 (when flag bit 1)
/// varint count              number of entries
/// count × (varint n, n bytes UTF-8 key, varint m, m bytes value)
/// </code>
/// A newer layout gets a new format byte, so old readers treat it as unreadable rather than misreading it.
/// </summary>
internal static class BinaryEnvelopeFormat
{
    public const byte FormatByte = 0x01;
    private const int FixedHeader = 1 + 8 + 8 + 1;
    private const byte PersistentFlag = 1;
    private const byte UserFlag = 2;
    private const byte KnownFlags = PersistentFlag | UserFlag;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] Encode(SessionEnvelope envelope)
    {
        var size = FixedHeader;
        if (envelope.UserId is { } user)
        {
            size += SizedLength(s_strictUtf8.GetByteCount(user));
        }

        size += VarintLength((ulong)envelope.Entries.Count);
        foreach (var (key, value) in envelope.Entries)
        {
            size += SizedLength(s_strictUtf8.GetByteCount(key)) + SizedLength(value.Length);
        }

        var buffer = new byte[size];
        var span = buffer.AsSpan();
        span[0] = FormatByte;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], envelope.CreatedAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64LittleEndian(span[9..], envelope.AbsoluteDeadline?.ToUnixTimeMilliseconds() ?? 0);
        span[17] = (byte)((envelope.IsPersistent ? PersistentFlag : 0) | (envelope.UserId is null ? 0 : UserFlag));
        var at = FixedHeader;
        if (envelope.UserId is { } userId)
        {
            at += WriteString(span[at..], userId);
        }

        at += WriteVarint(span[at..], (ulong)envelope.Entries.Count);
        foreach (var (key, value) in envelope.Entries)
        {
            at += WriteString(span[at..], key);
            at += WriteVarint(span[at..], (ulong)value.Length);
            value.CopyTo(span[at..]);
            at += value.Length;
        }

        return buffer;
    }

    public static bool TryDecode(ReadOnlySpan<byte> payload, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SessionEnvelope? envelope)
    {
        envelope = null;
        if (payload.Length < FixedHeader || payload[0] != FormatByte)
        {
            return false;
        }

        var createdMs = BinaryPrimitives.ReadInt64LittleEndian(payload[1..]);
        var deadlineMs = BinaryPrimitives.ReadInt64LittleEndian(payload[9..]);
        var flags = payload[17];
        if ((flags & ~KnownFlags) != 0 || !IsValidUnixMs(createdMs) || (deadlineMs != 0 && !IsValidUnixMs(deadlineMs)))
        {
            return false;
        }

        var rest = payload[FixedHeader..];
        string? user = null;
        if ((flags & UserFlag) != 0 && !TryReadString(ref rest, out user))
        {
            return false;
        }

        if (!TryReadVarint(ref rest, out var count) || count > (ulong)rest.Length)
        {
            return false; // every entry takes at least two bytes, so a count beyond the remaining bytes is corrupt
        }

        var entries = new Dictionary<string, byte[]>((int)count, StringComparer.Ordinal);
        for (ulong i = 0; i < count; i++)
        {
            if (!TryReadString(ref rest, out var key) || !TryReadVarint(ref rest, out var length) || length > (ulong)rest.Length)
            {
                return false;
            }

            var value = rest[..(int)length].ToArray();
            rest = rest[(int)length..];
            if (!entries.TryAdd(key, value))
            {
                return false;
            }
        }

        if (!rest.IsEmpty)
        {
            return false;
        }

        envelope = new SessionEnvelope(
            DateTimeOffset.FromUnixTimeMilliseconds(createdMs),
            deadlineMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(deadlineMs),
            user,
            (flags & PersistentFlag) != 0,
            entries);
        return true;
    }

    private static bool IsValidUnixMs(long ms) => ms is >= -62_135_596_800_000 and <= 253_402_300_799_999;

    private static int SizedLength(int length) => VarintLength((ulong)length) + length;

    private static int VarintLength(ulong value)
    {
        var n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }

    private static int WriteVarint(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    private static int WriteString(Span<byte> destination, string value)
    {
        var length = s_strictUtf8.GetByteCount(value);
        var n = WriteVarint(destination, (ulong)length);
        s_strictUtf8.GetBytes(value, destination[n..]);
        return n + length;
    }

    private static bool TryReadVarint(ref ReadOnlySpan<byte> source, out ulong value)
    {
        value = 0;
        for (var i = 0; i < 5 && i < source.Length; i++)
        {
            var b = source[i];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                // Reject non-minimal encodings so each envelope has exactly one byte form.
                if (i > 0 && b == 0)
                {
                    return false;
                }

                source = source[(i + 1)..];
                return value <= int.MaxValue;
            }
        }

        return false;
    }

    private static bool TryReadString(ref ReadOnlySpan<byte> source, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        value = null;
        if (!TryReadVarint(ref source, out var length) || length > (ulong)source.Length)
        {
            return false;
        }

        var bytes = source[..(int)length];
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return false;
        }

        value = s_strictUtf8.GetString(bytes);
        source = source[(int)length..];
        return true;
    }
}
