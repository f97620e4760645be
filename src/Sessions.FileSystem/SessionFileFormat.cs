using System.Buffers.Binary;
using System.Text;
using Sessions.Backends;

namespace Sessions.FileSystem;

/// <summary>
/// The bytes of one session file: a fixed header, the key, then the payload. All integers are little-endian.
/// </summary>
/// <remarks>
/// <code>
/// offset size field
///      0    4 magic "SESF"
///      4    1 format version (1)
///      5    1 reserved (0)
///      6    2 key length in bytes (1..250)
///      8    8 expires-at, UTC ticks
///     16    8 record version
///     24    4 payload length in bytes
///     28    k key (ASCII)
///   28+k    n payload
/// </code>
/// The file length must be exactly 28 + k + n, so a truncated file is recognized as corrupt. The key is stored so that
/// enumeration can return it (file names are hashes) and so that a read can check that the file belongs to the key.
/// </remarks>
internal static class SessionFileFormat
{
    public const byte CurrentFormatVersion = 1;
    public const int HeaderLength = 28;

    /// <summary>The most bytes a header read needs: the fixed header plus the longest key.</summary>
    public const int MaxHeadLength = HeaderLength + SessionKeys.MaxKeyLength;

    private static ReadOnlySpan<byte> Magic => "SESF"u8;

    public static byte[] Encode(string key, SessionRecord record)
    {
        var keyLength = key.Length; // keys are validated ASCII: one byte per character
        var payload = record.Payload.Span;
        var bytes = new byte[HeaderLength + keyLength + payload.Length];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        span[4] = CurrentFormatVersion;
        span[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(span[6..], (ushort)keyLength);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], record.ExpiresAt.UtcTicks);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], record.Version);
        BinaryPrimitives.WriteInt32LittleEndian(span[24..], payload.Length);
        Encoding.ASCII.GetBytes(key, span.Slice(HeaderLength, keyLength));
        payload.CopyTo(span[(HeaderLength + keyLength)..]);
        return bytes;
    }

    /// <summary>Decodes the header at the start of <paramref name="head"/>, given the whole file's length.</summary>
    /// <param name="head">At least the first <see cref="MaxHeadLength"/> bytes of the file, or the whole file if shorter.</param>
    /// <param name="fileLength">The length of the file, to detect truncation.</param>
    /// <param name="header">The header, when the result is <see cref="SessionFileStatus.Valid"/>.</param>
    public static SessionFileStatus TryDecodeHeader(ReadOnlySpan<byte> head, long fileLength, out SessionFileHeader header)
    {
        header = default;
        if (head.Length < HeaderLength || !head.StartsWith(Magic))
        {
            return SessionFileStatus.Corrupt;
        }

        if (head[4] != CurrentFormatVersion)
        {
            // Written by another version of this package (a rolling upgrade, say): not ours to judge or delete.
            return SessionFileStatus.UnsupportedFormat;
        }

        int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(head[6..]);
        var ticks = BinaryPrimitives.ReadInt64LittleEndian(head[8..]);
        var version = BinaryPrimitives.ReadInt64LittleEndian(head[16..]);
        var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(head[24..]);
        if (keyLength is < 1 or > SessionKeys.MaxKeyLength
            || payloadLength < 0
            || ticks is < 0 || ticks > DateTimeOffset.MaxValue.UtcTicks
            || fileLength != (long)HeaderLength + keyLength + payloadLength
            || head.Length < HeaderLength + keyLength)
        {
            return SessionFileStatus.Corrupt;
        }

        var key = Encoding.ASCII.GetString(head.Slice(HeaderLength, keyLength));
        if (!SessionKeys.IsValid(key))
        {
            return SessionFileStatus.Corrupt;
        }

        header = new SessionFileHeader(key, new DateTimeOffset(ticks, TimeSpan.Zero), version, HeaderLength + keyLength, payloadLength);
        return SessionFileStatus.Valid;
    }
}

/// <summary>The outcome of decoding a session file.</summary>
internal enum SessionFileStatus
{
    /// <summary>No file.</summary>
    Missing = 0,

    /// <summary>A well-formed file of the current format.</summary>
    Valid,

    /// <summary>Bad magic, impossible lengths, truncated, or not the file of the key it was read for.</summary>
    Corrupt,

    /// <summary>A well-formed magic with a format version this code does not know.</summary>
    UnsupportedFormat,
}

/// <summary>The decoded header of a session file.</summary>
internal readonly record struct SessionFileHeader(string Key, DateTimeOffset ExpiresAt, long Version, int PayloadOffset, int PayloadLength);
