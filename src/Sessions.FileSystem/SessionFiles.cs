using Microsoft.Win32.SafeHandles;
using Sessions.Backends;

namespace Sessions.FileSystem;

/// <summary>
/// Reads and writes whole session files. Readers take no locks and never see a torn file, because a record file is never
/// modified in place: a writer writes a temp file next to it and renames it over the record (<c>rename(2)</c>, atomic).
/// </summary>
internal sealed class SessionFiles
{
    // Readers allow everything, so that a writer's rename over the file or a delete never waits for them (Windows).
    private const FileShare ReaderShare = FileShare.ReadWrite | FileShare.Delete;

    private readonly FileStreamOptions _tempFileOptions;
    private readonly bool _fsync;

    public SessionFiles(bool fsync)
    {
        _fsync = fsync;
        _tempFileOptions = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            _tempFileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
    }

    /// <summary>Reads a whole file and decodes it.</summary>
    /// <param name="path">The record file.</param>
    /// <param name="key">The key the file should belong to; a file holding another key counts as corrupt.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public static async ValueTask<StoredFile> ReadAsync(string path, string key, CancellationToken cancellationToken)
    {
        using var handle = TryOpen(path);
        if (handle is null)
        {
            return StoredFile.Missing;
        }

        var length = RandomAccess.GetLength(handle);
        if (length < SessionFileFormat.HeaderLength || length > Array.MaxLength)
        {
            return StoredFile.Corrupt;
        }

        var buffer = new byte[length];
        if (await ReadFullyAsync(handle, buffer, cancellationToken) != buffer.Length)
        {
            return StoredFile.Corrupt;
        }

        var status = SessionFileFormat.TryDecodeHeader(buffer, length, out var header);
        if (status != SessionFileStatus.Valid)
        {
            return new StoredFile(status, null);
        }

        if (!string.Equals(header.Key, key, StringComparison.Ordinal))
        {
            return StoredFile.Corrupt;
        }

        var record = new SessionRecord(buffer.AsMemory(header.PayloadOffset, header.PayloadLength), header.ExpiresAt, header.Version);
        return new StoredFile(SessionFileStatus.Valid, record);
    }

    /// <summary>Reads and decodes only the header of a file (for walks over the whole tree).</summary>
    public static async ValueTask<(SessionFileStatus Status, SessionFileHeader Header)> ReadHeaderAsync(string path, CancellationToken cancellationToken)
    {
        using var handle = TryOpen(path);
        if (handle is null)
        {
            return (SessionFileStatus.Missing, default);
        }

        var length = RandomAccess.GetLength(handle);
        var buffer = new byte[(int)Math.Min(length, SessionFileFormat.MaxHeadLength)];
        var read = await ReadFullyAsync(handle, buffer, cancellationToken);
        var status = SessionFileFormat.TryDecodeHeader(buffer.AsSpan(0, read), length, out var header);
        return (status, header);
    }

    /// <summary>Replaces the record file of <paramref name="location"/> with <paramref name="contents"/>, atomically.</summary>
    /// <remarks>The caller holds the shard lock. On failure or cancellation the temp file is removed and the record is untouched.</remarks>
    public async ValueTask ReplaceAsync(SessionLocation location, byte[] contents, CancellationToken cancellationToken)
    {
        var tempPath = location.NewTempPath();
        try
        {
            var stream = new FileStream(tempPath, _tempFileOptions);
            await using (stream)
            {
                await stream.WriteAsync(contents, cancellationToken);
                if (_fsync)
                {
                    // There is no asynchronous fsync; FlushAsync only empties .NET's buffer (and we have none).
#pragma warning disable CA1849 // deliberate: the only way to fsync
                    stream.Flush(flushToDisk: true);
#pragma warning restore CA1849
                }
            }

            // rename(2) on Unix, MoveFileEx(MOVEFILE_REPLACE_EXISTING) on Windows: readers see the old file or the new one.
            File.Move(tempPath, location.FilePath, overwrite: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }
    }

    /// <summary>Deletes a file if it exists; the caller holds the shard lock.</summary>
    public static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing to delete.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: the purge removes orphaned temp files.
        }
    }

    private static SafeFileHandle? TryOpen(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, ReaderShare);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static async ValueTask<int> ReadFullyAsync(SafeFileHandle handle, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(total), total, cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}

/// <summary>The outcome of reading one record file.</summary>
/// <param name="Status">Whether the file was there and decodable.</param>
/// <param name="Record">The record (expired or not) when <paramref name="Status"/> is <see cref="SessionFileStatus.Valid"/>.</param>
internal readonly record struct StoredFile(SessionFileStatus Status, SessionRecord? Record)
{
    public static StoredFile Missing => new(SessionFileStatus.Missing, null);

    public static StoredFile Corrupt => new(SessionFileStatus.Corrupt, null);

    /// <summary>A file is on disk, whether or not it holds a live record.</summary>
    public bool Exists => Status != SessionFileStatus.Missing;
}
