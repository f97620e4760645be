using System.Runtime.CompilerServices;
using Sessions.Backends;

namespace Sessions.FileSystem;

/// <summary>
/// A backend that keeps one file per session under a directory, for single servers and for several processes (or
/// containers) sharing one local directory. Needs no server.
/// </summary>
/// <remarks>
/// <para>Layout: <c>root/ab/cd/&lt;hex&gt;.session</c>, where <c>&lt;hex&gt;</c> is the SHA-256 of the key, so folders stay
/// small and no key can name a path outside the root. A file holds a small header (format, expiry, version, the key) and
/// the payload.</para>
/// <para>Reads take no locks: every write goes to a temp file in the same folder that is then renamed over the record, so a
/// reader sees the old record or the new one, never a torn file. Every write (set, remove, touch) runs under the shard's
/// lock file, exclusive across threads and processes, so conditional writes are atomic.</para>
/// <para>Expired files are invisible to reads. They stay on disk until a write to the same key or
/// <see cref="PurgeExpiredAsync"/> deletes them, so run the purge periodically.</para>
/// </remarks>
public sealed class FileSystemSessionBackend : ISessionBackend, ISessionKeyEnumerator, IExpiredSessionPurger, IAsyncDisposable, IDisposable
{
    // A temp file this old cannot belong to a writer that is still running (writes take milliseconds).
    private static readonly TimeSpan s_orphanedTempFileAge = TimeSpan.FromMinutes(1);

    private readonly ShardedLayout _layout;
    private readonly ShardLocker _locks;
    private readonly SessionFiles _files;
    private readonly TimeProvider _time;
    private int _disposed;

    /// <summary>Creates the backend and, when missing, its root directory.</summary>
    /// <param name="options">Where and how to store files; <see langword="null"/> for defaults.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which and why.</exception>
    /// <exception cref="NotSupportedException">File locking is switched off in this process.</exception>
    public FileSystemSessionBackend(FileSystemSessionBackendOptions? options = null, TimeProvider? timeProvider = null)
    {
        options ??= new FileSystemSessionBackendOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        ThrowIfFileLockingDisabled();
        _time = timeProvider ?? TimeProvider.System;
        RootDirectory = Path.GetFullPath(options.Directory);
        CreateDirectory(RootDirectory);
        _layout = new ShardedLayout(RootDirectory);
        _locks = new ShardLocker(options.LockTimeout, CreateShard, ThrowIfDisposed);
        _files = new SessionFiles(options.Fsync);
    }

    /// <summary>The full path of the directory that holds the session files.</summary>
    public string RootDirectory { get; }

    /// <inheritdoc />
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();

        var path = _layout.Locate(key).FilePath;
        var stored = await SessionFiles.ReadAsync(path, key, cancellationToken);
        return stored.Status switch
        {
            // Never a silent miss: the core logs a corrupt record (event 1001), counts it and issues a new session.
            SessionFileStatus.Corrupt => throw new SessionRecordCorruptException(
                $"The session file {path} for \"{key}\" cannot be read as a session record (bad magic, impossible lengths, truncated, or another key's file). "
                + "It is treated as missing and deleted by the next purge.")
            { Key = key, StoredBytes = FileLength(path) },
            SessionFileStatus.UnsupportedFormat => throw new SessionRecordCorruptException(
                $"The session file {path} for \"{key}\" has a format version this version of Sessions.FileSystem does not know (written by a newer one?). "
                + "It is treated as missing here and left in place for the version that wrote it.")
            { Key = key, StoredBytes = FileLength(path) },
            _ => Live(stored),
        };
    }

    /// <inheritdoc />
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ArgumentNullException.ThrowIfNull(record);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();

        var location = _layout.Locate(key);
        if (condition.Kind == SetConditionKind.IfVersion && !File.Exists(location.FilePath))
        {
            return false; // no record now, so the condition fails now: no need to lock
        }

        var contents = SessionFileFormat.Encode(key, record);

        // Unconditional writes lock too: otherwise one could land between a touch's read and its rename, and the touch
        // would bring the older record back.
        await using var held = await _locks.AcquireAsync(location.Shard, location.ShardNumber, cancellationToken);
        if (condition.Kind != SetConditionKind.Always
            && !condition.IsSatisfiedBy(Live(await SessionFiles.ReadAsync(location.FilePath, key, cancellationToken))))
        {
            return false;
        }

        // Stored as given, even when already expired: reads ignore it and the purge deletes (and counts) it.
        await _files.ReplaceAsync(location, contents, cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();

        var location = _layout.Locate(key);
        if (!File.Exists(location.FilePath))
        {
            return false;
        }

        await using var held = await _locks.AcquireAsync(location.Shard, location.ShardNumber, cancellationToken);
        var current = await SessionFiles.ReadAsync(location.FilePath, key, cancellationToken);
        var live = Live(current);
        if (live is not null && expectedVersion is { } expected && live.Version != expected)
        {
            return false;
        }

        if (current.Exists && current.Status != SessionFileStatus.UnsupportedFormat)
        {
            SessionFiles.Delete(location.FilePath); // live, or expired or corrupt and deleted lazily
        }

        return live is not null;
    }

    /// <inheritdoc />
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();

        var location = _layout.Locate(key);
        if (!File.Exists(location.FilePath))
        {
            return false;
        }

        await using var held = await _locks.AcquireAsync(location.Shard, location.ShardNumber, cancellationToken);
        var live = Live(await SessionFiles.ReadAsync(location.FilePath, key, cancellationToken));
        if (live is null)
        {
            return false;
        }

        var touched = live with { ExpiresAt = expiresAt };

        // The payload is rewritten: patching the expiry in place would let a reader see a half-written header.
        await _files.ReplaceAsync(location, SessionFileFormat.Encode(key, touched), cancellationToken);
        return true;
    }

    /// <inheritdoc />
    /// <remarks>File names are hashes, so this reads the header of every file under the root, whatever the prefix.</remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        foreach (var shard in _layout.EnumerateShards())
        {
            foreach (var file in ShardedLayout.ListShard(shard).Records)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ThrowIfDisposed();
                var (status, header) = await SessionFiles.ReadHeaderAsync(file.Path, cancellationToken);
                if (status == SessionFileStatus.Valid
                    && header.ExpiresAt > _time.GetUtcNow()
                    && header.Key.StartsWith(prefix, StringComparison.Ordinal)
                    && ShardedLayout.IsFileOf(file.Hex, header.Key))
                {
                    yield return header.Key;
                }
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Walks the whole tree. Deletes expired records and files that are not valid records (truncated or garbled; files
    /// of an unknown, newer format are left alone), re-checking each under its shard's lock; both count in the result.
    /// Also deletes temp files orphaned by a crashed writer (older than a minute).
    /// </remarks>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        long purged = 0;
        foreach (var shard in _layout.EnumerateShards())
        {
            cancellationToken.ThrowIfCancellationRequested();
            ThrowIfDisposed();
            var listing = ShardedLayout.ListShard(shard);

            var orphans = listing.TempFiles.Where(IsOrphanedTempFile).ToList();
            var candidates = new List<RecordFile>();
            foreach (var file in listing.Records)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (status, header) = await SessionFiles.ReadHeaderAsync(file.Path, cancellationToken);
                if (IsPurgeable(status, header, file.Hex))
                {
                    candidates.Add(file);
                }
            }

            if (orphans.Count == 0 && candidates.Count == 0)
            {
                continue;
            }

            await using var held = await _locks.AcquireAsync(shard, ShardedLayout.ShardNumberOf(shard), cancellationToken);
            foreach (var orphan in orphans)
            {
                SessionFiles.Delete(orphan);
            }

            foreach (var file in candidates)
            {
                // Someone may have rewritten the record since the unlocked look; decide again.
                var (status, header) = await SessionFiles.ReadHeaderAsync(file.Path, CancellationToken.None);
                if (IsPurgeable(status, header, file.Hex))
                {
                    SessionFiles.Delete(file.Path);
                    purged++;
                }
            }
        }

        return purged;
    }

    /// <summary>Marks the backend disposed; calls made afterwards throw <see cref="ObjectDisposedException"/>. Idempotent.</summary>
    /// <returns>A completed task: the backend keeps no file open between calls.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Same as <see cref="DisposeAsync"/>; offered too so that a container disposed synchronously can dispose the backend.</summary>
    public void Dispose() => Interlocked.Exchange(ref _disposed, 1);

    private static void ThrowIfFileLockingDisabled()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Windows share modes cannot be switched off.
        }

        var switchedOff = AppContext.TryGetSwitch("System.IO.DisableFileLocking", out var disabled) && disabled;
        var variable = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING");
        switchedOff |= variable is not null && (variable == "1" || variable.Equals("true", StringComparison.OrdinalIgnoreCase));
        if (switchedOff)
        {
            throw new NotSupportedException(
                "File locking is switched off in this process (DOTNET_SYSTEM_IO_DISABLEFILELOCKING or the System.IO.DisableFileLocking switch), " +
                "so the file-system session backend could not keep conditional writes atomic between processes. Remove that setting, or use another backend.");
        }
    }

    // Level by level: Directory.CreateDirectory(path, mode) applies the mode only to the last folder it creates.
    private static void CreateShard(string shard)
    {
        CreateDirectory(Path.GetDirectoryName(shard)!);
        CreateDirectory(shard);
    }

    private static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static bool IsOrphanedTempFile(string path)
    {
        try
        {
            // File times come from the real clock, whatever clock decides session expiry.
            return TimeProvider.System.GetUtcNow().UtcDateTime - File.GetLastWriteTimeUtc(path) > s_orphanedTempFileAge
                && File.Exists(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private bool IsPurgeable(SessionFileStatus status, SessionFileHeader header, string fileHex) => status switch
    {
        SessionFileStatus.Corrupt => true,
        SessionFileStatus.Valid => header.ExpiresAt <= _time.GetUtcNow() || !ShardedLayout.IsFileOf(fileHex, header.Key),
        _ => false,
    };

    private static int? FileLength(string path)
    {
        try
        {
            var length = new FileInfo(path).Length;
            return length <= int.MaxValue ? (int)length : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private SessionRecord? Live(StoredFile stored) => stored.Record is { } record && IsLive(record) ? record : null;

    private bool IsLive(SessionRecord record) => record.ExpiresAt > _time.GetUtcNow();

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
