using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Sessions.Backends;

namespace Sessions.FileSystem;

/// <summary>
/// One session file: a prefix naming its key, then the record as every key-value backend stores it
/// (<see cref="SessionRecordHeader"/>). A file is never modified in place: a writer writes a temp file next to it and
/// renames it over the record (atomic), so readers take no locks and never see a torn file.
/// <code>
/// offset size field
///      0    4 magic "SESF"
///      4    1 file format: 2 (1, the 28-byte header of 0.x, is still read; see the README)
///      5    1 key length in bytes, k (1..250)
///      6    4 payload length in bytes, n, big-endian
///     10    k key (ASCII)
///   10+k   17 SessionRecordHeader: tag, version, expiry (Unix ms)
///   27+k    n payload
/// </code>
/// The file length must be exactly 27 + k + n, so a truncated file is corrupt. The key is stored so that enumeration can
/// return it (file names are hashes) and a read can check that the file belongs to its key.
/// </summary>
internal static class SessionFile
{
    /// <summary>The most bytes a header read needs (format 1's 28 bytes and the longest key).</summary>
    public const int MaxHeadLength = 28 + SessionKeys.MaxKeyLength;

    private static ReadOnlySpan<byte> Magic => "SESF"u8;

    public static byte[] Encode(string key, SessionRecord record)
    {
        var payload = record.Payload.Span;
        var bytes = new byte[10 + key.Length + SessionRecordHeader.Length + payload.Length]; // keys are ASCII: a byte a character
        Magic.CopyTo(bytes);
        bytes[4] = 2;
        bytes[5] = (byte)key.Length;
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(6), payload.Length);
        Encoding.ASCII.GetBytes(key, bytes.AsSpan(10));
        SessionRecordHeader.Write(bytes.AsSpan(10 + key.Length), record.Version, record.ExpiresAt.ToUnixTimeMilliseconds(), payload);
        return bytes;
    }

    /// <summary>Decodes the header at the start of <paramref name="head"/> (at least <see cref="MaxHeadLength"/> bytes, or
    /// the whole file), given the whole file's length.</summary>
    public static SessionFileStatus TryDecode(ReadOnlySpan<byte> head, long fileLength, out SessionFileHeader header)
    {
        header = default;
        if (head.Length < 10 || !head.StartsWith(Magic))
        {
            return SessionFileStatus.Corrupt;
        }

        var format = head[4];
        if (format is not (1 or 2))
        {
            return SessionFileStatus.UnsupportedFormat; // a newer version of this package (a rolling upgrade): not ours to judge
        }

        // Format 1 (0.x, still read so that an upgrade logs nobody out): magic, 1, 0, key length (uint16), expiry (UTC
        // ticks), version, payload length (int32), all little-endian, then the key and the payload.
        (int KeyOffset, int KeyLength, int PayloadLength, long Ticks, long Version) f = format == 2
            ? (10, head[5], BinaryPrimitives.ReadInt32BigEndian(head[6..]), 0, 0)
            : head.Length < 28 ? (28, -1, -1, 0, 0)
            : (28, BinaryPrimitives.ReadUInt16LittleEndian(head[6..]), BinaryPrimitives.ReadInt32LittleEndian(head[24..]), BinaryPrimitives.ReadInt64LittleEndian(head[8..]), BinaryPrimitives.ReadInt64LittleEndian(head[16..]));
        var (keyOffset, keyLength, payloadLength, ticks, version) = f;
        var payloadOffset = keyOffset + keyLength + (format == 2 ? SessionRecordHeader.Length : 0);
        var expiresAtMs = 0L;
        if (keyLength is < 1 or > SessionKeys.MaxKeyLength || payloadLength < 0 || fileLength != (long)payloadOffset + payloadLength || head.Length < keyOffset + keyLength
            || ticks < 0 || ticks > DateTimeOffset.MaxValue.UtcTicks
            || (format == 2 && !SessionRecordHeader.TryRead(head[(keyOffset + keyLength)..], out version, out expiresAtMs)))
        {
            return SessionFileStatus.Corrupt;
        }

        var expiresAt = format == 2 ? DateTimeOffset.FromUnixTimeMilliseconds(expiresAtMs) : new DateTimeOffset(ticks, TimeSpan.Zero);
        var key = Encoding.ASCII.GetString(head.Slice(keyOffset, keyLength));
        header = new SessionFileHeader(key, expiresAt, version, payloadOffset, payloadLength);
        return SessionKeys.IsValid(key) ? SessionFileStatus.Valid : SessionFileStatus.Corrupt;
    }

    /// <summary>Reads a file, whole or only its header, and decodes it; <see cref="SessionFileStatus.Missing"/> when there is none.</summary>
    public static async ValueTask<(SessionFileStatus Status, SessionFileHeader Header, byte[] Bytes)> ReadAsync(string path, bool headerOnly, CancellationToken cancellationToken)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); // never in a writer's way
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (SessionFileStatus.Missing, default, []);
        }

        using (handle)
        {
            var length = RandomAccess.GetLength(handle);
            var buffer = new byte[headerOnly ? Math.Min(length, MaxHeadLength) : length <= Array.MaxLength ? length : 0];
            var read = 0;
            for (int more; read < buffer.Length && (more = await RandomAccess.ReadAsync(handle, buffer.AsMemory(read), read, cancellationToken)) > 0;)
            {
                read += more;
            }

            SessionFileHeader header = default;
            var status = !headerOnly && read != length ? SessionFileStatus.Corrupt : TryDecode(buffer.AsSpan(0, read), length, out header);
            return (status, header, buffer);
        }
    }

    /// <summary>Replaces the record file of <paramref name="location"/> with <paramref name="contents"/>, atomically; the
    /// caller holds the shard lock. On failure the temp file is removed and the record is untouched.</summary>
    public static async ValueTask ReplaceAsync(SessionLocation location, byte[] contents, bool fsync, CancellationToken cancellationToken)
    {
        var tempPath = Path.Combine(location.Shard, $"{location.Hex}.{Guid.NewGuid():N}{ShardedLayout.TempExtension}");
        try
        {
            var stream = new FileStream(tempPath, ShardedLayout.OwnerOnly(FileMode.CreateNew, FileAccess.Write));
            await using (stream)
            {
                await stream.WriteAsync(contents, cancellationToken);
                if (fsync)
                {
#pragma warning disable CA1849 // there is no asynchronous fsync; FlushAsync only empties .NET's buffer (and there is none)
                    stream.Flush(flushToDisk: true);
#pragma warning restore CA1849
                }
            }

            // rename(2) on Unix, MoveFileEx(MOVEFILE_REPLACE_EXISTING) on Windows: readers see the old file or the new one.
            File.Move(tempPath, location.FilePath, overwrite: true);
        }
        catch
        {
            Delete(tempPath, orLeaveIt: true); // else left for the purge, which removes orphaned temp files
            throw;
        }
    }

    /// <summary>Deletes a file if it exists; the caller holds the shard lock.</summary>
    public static void Delete(string path, bool orLeaveIt = false)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is DirectoryNotFoundException || (orLeaveIt && e is IOException or UnauthorizedAccessException))
        {
        }
    }
}

/// <summary>The outcome of decoding a session file: no file; a well-formed file of a known format; corrupt (bad magic,
/// impossible lengths, truncated, another key's); or a format this code does not know.</summary>
internal enum SessionFileStatus
{
    Missing,
    Valid,
    Corrupt,
    UnsupportedFormat,
}

/// <summary>The decoded header of a session file.</summary>
internal readonly record struct SessionFileHeader(string Key, DateTimeOffset ExpiresAt, long Version, int PayloadOffset, int PayloadLength);
