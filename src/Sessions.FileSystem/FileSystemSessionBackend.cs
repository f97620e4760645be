using System.Runtime.CompilerServices;
using Sessions.Backends;

namespace Sessions.FileSystem;

/// <summary>
/// A backend that keeps one file per session under a directory (<c>root/ab/cd/&lt;SHA-256 of the key&gt;.session</c>), for
/// single servers and for several processes or containers sharing one local directory. Needs no server.
/// </summary>
/// <remarks>
/// <para>Reads take no locks: a write goes to a temp file that is renamed over the record, so a reader sees the old record
/// or the new one. Every write runs under its shard's lock file, exclusive across threads and processes, so conditional
/// writes are atomic.</para>
/// <para>Expired files are invisible to reads and stay on disk until a write to the same key or
/// <see cref="PurgeExpiredAsync"/> deletes them, so run the purge periodically.</para>
/// </remarks>
public sealed class FileSystemSessionBackend : ISessionBackend, ISessionKeyEnumerator, IExpiredSessionPurger, IAsyncDisposable, IDisposable
{
    private readonly ShardedLayout _layout;
    private readonly ShardLocker _locks;
    private readonly bool _fsync;
    private readonly TimeProvider _time;
    private int _disposed;

    /// <summary>Creates the backend and, when missing, its root directory.</summary>
    /// <param name="options">Where and how to store files; <see langword="null"/> for defaults.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which and why.</exception>
    /// <exception cref="InvalidOperationException">The directory cannot be created or used.</exception>
    /// <exception cref="NotSupportedException">File locking is switched off in this process.</exception>
    public FileSystemSessionBackend(FileSystemSessionBackendOptions? options = null, TimeProvider? timeProvider = null)
    {
        options ??= new FileSystemSessionBackendOptions();
        if (new FileSystemSessionBackendOptionsValidator().Validate(null, options).Failures is { } failures)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(options));
        }

        var variable = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING");
        if (!OperatingSystem.IsWindows() // Windows share modes cannot be switched off
            && ((AppContext.TryGetSwitch("System.IO.DisableFileLocking", out var disabled) && disabled) || variable == "1" || "true".Equals(variable, StringComparison.OrdinalIgnoreCase)))
        {
            throw new NotSupportedException(
                "File locking is switched off in this process (DOTNET_SYSTEM_IO_DISABLEFILELOCKING or the System.IO.DisableFileLocking switch), " +
                "so the file-system session backend could not keep conditional writes atomic between processes. Remove that setting, or use another backend.");
        }

        _time = timeProvider ?? TimeProvider.System;
        RootDirectory = Path.GetFullPath(options.Directory);
        try
        {
            ShardedLayout.CreateDirectory(RootDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"Sessions:FileSystem:Directory is \"{options.Directory}\", which cannot hold sessions: {e.Message} Set it to a directory this app may create and write.", e);
        }

        _layout = new ShardedLayout(RootDirectory);
        _locks = new ShardLocker(options.LockTimeout, ThrowIfDisposed);
        _fsync = options.Fsync;
    }

    /// <summary>The full path of the directory that holds the session files.</summary>
    public string RootDirectory { get; }

    /// <inheritdoc />
    /// <exception cref="SessionRecordCorruptException">The key's file is truncated, garbled, another key's, or of an unknown format.</exception>
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var path = Prepare(key, cancellationToken).FilePath;
        var (status, record, storedBytes) = await ReadAsync(path, key, cancellationToken);
        return status switch
        {
            // Never a silent miss: the core logs a corrupt record (event 1001), counts it and issues a new session.
            SessionFileStatus.Corrupt or SessionFileStatus.UnsupportedFormat => throw new SessionRecordCorruptException(
                $"The session file {path} for \"{key}\" " + (status == SessionFileStatus.Corrupt
                    ? "cannot be read as a session record (bad magic, impossible lengths, truncated, or another key's file). It is treated as missing and deleted by the next purge."
                    : "has a format this version of Sessions.FileSystem does not know (written by a newer one?). It is treated as missing here and left in place for the version that wrote it."))
            { Key = key, StoredBytes = storedBytes },
            _ => Live(record),
        };
    }

    /// <inheritdoc />
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        var location = Prepare(key, cancellationToken);
        ArgumentNullException.ThrowIfNull(record);
        if (condition.Kind == SetConditionKind.IfVersion && !File.Exists(location.FilePath))
        {
            return false; // no record now, so the condition fails now: no need to lock
        }

        var contents = SessionFile.Encode(key, record);

        // Unconditional writes lock too: else one could land between a touch's read and its rename, and the touch would
        // bring the older record back.
        await using var held = await _locks.AcquireAsync(location.Shard, location.ShardNumber, cancellationToken);
        if (condition.Kind != SetConditionKind.Always
            && !condition.IsSatisfiedBy(Live((await ReadAsync(location.FilePath, key, cancellationToken)).Record)))
        {
            return false;
        }

        // Stored as given, even when already expired: reads ignore it and the purge deletes (and counts) it.
        await SessionFile.ReplaceAsync(location, contents, _fsync, cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var (held, location, status, live) = await LockAndReadAsync(key, cancellationToken);
        await using (held)
        {
            if (held is null || (live is not null && expectedVersion is { } expected && live.Version != expected))
            {
                return false;
            }

            if (status is not (SessionFileStatus.Missing or SessionFileStatus.UnsupportedFormat))
            {
                SessionFile.Delete(location.FilePath); // live, or expired or corrupt and deleted lazily
            }

            return live is not null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var (held, location, _, live) = await LockAndReadAsync(key, cancellationToken);
        await using (held)
        {
            if (live is null)
            {
                return false;
            }

            // The whole file is rewritten: patching the expiry in place would let a reader see a half-written header.
            await SessionFile.ReplaceAsync(location, SessionFile.Encode(key, live with { ExpiresAt = expiresAt }), _fsync, cancellationToken);
            return true;
        }
    }

    /// <inheritdoc />
    /// <remarks>File names are hashes, so this reads the header of every file under the root, whatever the prefix.</remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        foreach (var file in _layout.EnumerateShards().SelectMany(shard => ShardedLayout.ListShard(shard).Records))
        {
            cancellationToken.ThrowIfCancellationRequested();
            ThrowIfDisposed();
            var (status, header, _) = await SessionFile.ReadAsync(file.Path, headerOnly: true, cancellationToken);
            if (status == SessionFileStatus.Valid && header.ExpiresAt > _time.GetUtcNow() && header.Key.StartsWith(prefix, StringComparison.Ordinal) && ShardedLayout.IsFileOf(file.Hex, header.Key))
            {
                yield return header.Key;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Walks the whole tree. Deletes expired records and files that are not valid records (files of an unknown, newer
    /// format are left alone), re-checking each under its shard's lock; both count in the result. Also deletes temp files
    /// orphaned by a crashed writer (older than a minute).
    /// </remarks>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        long purged = 0;
        foreach (var shard in _layout.EnumerateShards())
        {
            ThrowIfDisposed();
            var (records, temps) = ShardedLayout.ListShard(shard);
            var orphans = temps.Where(IsOrphanedTempFile).ToList();
            var candidates = new List<(string Hex, string Path)>();
            foreach (var file in records)
            {
                if (await IsPurgeableAsync(file, cancellationToken))
                {
                    candidates.Add(file);
                }
            }

            if (orphans.Count + candidates.Count > 0)
            {
                await using var held = await _locks.AcquireAsync(shard, ShardedLayout.ShardNumberOf(shard), cancellationToken);
                orphans.ForEach(orphan => SessionFile.Delete(orphan));
                foreach (var file in candidates)
                {
                    if (await IsPurgeableAsync(file, CancellationToken.None)) // decided again, under the lock
                    {
                        SessionFile.Delete(file.Path);
                        purged++;
                    }
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

    // A temp file older than a minute cannot belong to a running writer. File times come from the real clock.
    private static bool IsOrphanedTempFile(string path) => DateTime.UtcNow - File.GetLastWriteTimeUtc(path) > TimeSpan.FromMinutes(1) && File.Exists(path);

    /// <summary>Reads the record file of <paramref name="key"/>; a file holding another key is corrupt.</summary>
    private static async ValueTask<(SessionFileStatus Status, SessionRecord? Record, int StoredBytes)> ReadAsync(string path, string key, CancellationToken cancellationToken)
    {
        var (status, header, bytes) = await SessionFile.ReadAsync(path, headerOnly: false, cancellationToken);
        return status != SessionFileStatus.Valid ? (status, null, bytes.Length)
            : header.Key != key ? (SessionFileStatus.Corrupt, null, bytes.Length)
            : (status, new SessionRecord(bytes.AsMemory(header.PayloadOffset, header.PayloadLength), header.ExpiresAt, header.Version), bytes.Length);
    }

    /// <summary>Takes the shard lock and reads the record, for a remove or a touch; no lock (<see langword="null"/>) when there is no file.</summary>
    private async ValueTask<(ShardLock? Held, SessionLocation Location, SessionFileStatus Status, SessionRecord? Live)> LockAndReadAsync(string key, CancellationToken cancellationToken)
    {
        var location = Prepare(key, cancellationToken);
        if (!File.Exists(location.FilePath))
        {
            return (null, location, SessionFileStatus.Missing, null);
        }

        var held = await _locks.AcquireAsync(location.Shard, location.ShardNumber, cancellationToken);
        var (status, record, _) = await ReadAsync(location.FilePath, key, cancellationToken);
        return (held, location, status, Live(record));
    }

    private async ValueTask<bool> IsPurgeableAsync((string Hex, string Path) file, CancellationToken cancellationToken)
    {
        var (status, header, _) = await SessionFile.ReadAsync(file.Path, headerOnly: true, cancellationToken);
        return status == SessionFileStatus.Corrupt
            || (status == SessionFileStatus.Valid && (header.ExpiresAt <= _time.GetUtcNow() || !ShardedLayout.IsFileOf(file.Hex, header.Key)));
    }

    private SessionLocation Prepare(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return _layout.Locate(key);
    }

    private SessionRecord? Live(SessionRecord? record) => record is not null && record.ExpiresAt > _time.GetUtcNow() ? record : null;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
