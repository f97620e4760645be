using System.Diagnostics;

namespace Sessions.FileSystem;

/// <summary>
/// Takes the exclusive lock of one shard, across threads and across processes that share the directory, without
/// blocking a thread while it waits.
/// </summary>
/// <remarks>
/// <para>Across processes: the shard's <c>.lock</c> file is opened with <see cref="FileShare.None"/>, which .NET implements
/// with <c>flock(LOCK_EX | LOCK_NB)</c> on Unix and a share-mode open on Windows. The open fails while another handle holds
/// it, so the wait is a poll with a short, jittered, exponential backoff (<see cref="Task.Delay(TimeSpan, CancellationToken)"/>),
/// bounded by the lock timeout. The operating system drops the lock when its holder dies, so a crash never leaves a shard
/// locked.</para>
/// <para>Within a process: writers first queue on a process-wide semaphore stripe for the shard. That keeps in-process
/// contention out of the polling loop (waiters are woken in order instead of retrying) and keeps two backend instances on
/// one directory exclusive even on file systems whose locks are per process.</para>
/// </remarks>
internal sealed class ShardLocker
{
    private const int StripeCount = 1024; // a power of two
    private const int MaxBackoffMilliseconds = 32;
    private static readonly SemaphoreSlim[] s_stripes = CreateStripes();

    private readonly TimeSpan _timeout;
    private readonly Action<string> _createShard;
    private readonly Action _throwIfDisposed;
    private readonly FileStreamOptions _lockFileOptions;

    /// <param name="timeout">How long to wait in all.</param>
    /// <param name="createShard">Creates a leaf folder that does not exist yet.</param>
    /// <param name="throwIfDisposed">Called on each retry, so a disposed backend stops waiting.</param>
    public ShardLocker(TimeSpan timeout, Action<string> createShard, Action throwIfDisposed)
    {
        _timeout = timeout;
        _createShard = createShard;
        _throwIfDisposed = throwIfDisposed;
        _lockFileOptions = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.Read,
            Share = FileShare.None,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            _lockFileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
    }

    /// <summary>Waits for the lock of <paramref name="shard"/>; dispose the result to release it.</summary>
    /// <param name="shard">The leaf folder; created when missing.</param>
    /// <param name="shardNumber">The shard's number, which picks the in-process stripe.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="TimeoutException">The lock stayed held for the whole timeout.</exception>
    public async ValueTask<ShardLock> AcquireAsync(string shard, int shardNumber, CancellationToken cancellationToken)
    {
        var lockPath = ShardedLayout.LockPathOf(shard);
        var started = Stopwatch.GetTimestamp();
        var stripe = s_stripes[shardNumber & (StripeCount - 1)];
        if (!await stripe.WaitAsync(_timeout, cancellationToken))
        {
            throw new TimeoutException(
                $"Timed out after {_timeout} waiting for the lock of session shard '{lockPath}': other writers in this process held it all that time. " +
                "If one is stuck, find it; otherwise raise FileSystemSessionBackendOptions.LockTimeout.");
        }

        try
        {
            var backoff = 1;
            while (true)
            {
                _throwIfDisposed();
                try
                {
                    return new ShardLock(stripe, new FileStream(lockPath, _lockFileOptions));
                }
                catch (DirectoryNotFoundException)
                {
                    _createShard(shard);
                    continue;
                }
                catch (IOException e) when (IsHeldByAnotherHandle(e))
                {
                    var remaining = _timeout - Stopwatch.GetElapsedTime(started);
                    if (remaining <= TimeSpan.Zero)
                    {
                        throw new TimeoutException(
                            $"Timed out after {_timeout} waiting for the lock file '{lockPath}': another process (or another handle in this one) held it all that time. " +
                            "A dead process's lock is released by the operating system, so a live process is stuck holding it; stop it, or raise FileSystemSessionBackendOptions.LockTimeout.",
                            e);
                    }

                    // Jitter keeps two processes that collided from retrying in lockstep.
                    var delay = TimeSpan.FromMilliseconds(backoff + Random.Shared.Next(backoff + 1));
                    await Task.Delay(delay < remaining ? delay : remaining, cancellationToken);
                    backoff = Math.Min(backoff * 2, MaxBackoffMilliseconds);
                }
            }
        }
        catch
        {
            stripe.Release();
            throw;
        }
    }

    /// <summary>Whether opening failed only because another handle holds the file exclusively.</summary>
    internal static bool IsHeldByAnotherHandle(IOException e)
    {
        if (e is FileNotFoundException or DirectoryNotFoundException or PathTooLongException)
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            // ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
            return (e.HResult & 0xFFFF) is 32 or 33;
        }

        // On Unix .NET reports flock's EWOULDBLOCK as an IOException whose HResult is the raw errno:
        // 11 on Linux, 35 on macOS and the BSDs.
        return e.HResult is 11 or 35;
    }

    private static SemaphoreSlim[] CreateStripes()
    {
        var stripes = new SemaphoreSlim[StripeCount];
        for (var i = 0; i < stripes.Length; i++)
        {
            stripes[i] = new SemaphoreSlim(1, 1);
        }

        return stripes;
    }
}

/// <summary>A held shard lock; disposing it releases the file lock, then the in-process stripe.</summary>
internal sealed class ShardLock : IAsyncDisposable
{
    private readonly SemaphoreSlim _stripe;
    private readonly FileStream _file;
    private int _released;

    internal ShardLock(SemaphoreSlim stripe, FileStream file)
    {
        _stripe = stripe;
        _file = file;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        try
        {
            await _file.DisposeAsync();
        }
        finally
        {
            _stripe.Release();
        }
    }
}
