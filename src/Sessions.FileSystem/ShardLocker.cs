using System.Diagnostics;

namespace Sessions.FileSystem;

/// <summary>
/// Takes the exclusive lock of one shard, across threads and processes, without blocking a thread: first a process-wide
/// semaphore stripe (in-process waiters queue instead of polling; two backends on one directory stay exclusive where file
/// locks are per process), then the shard's <c>.lock</c> file opened with <see cref="FileShare.None"/> (<c>flock(LOCK_EX |
/// LOCK_NB)</c> on Unix, a share mode on Windows), polled with a jittered exponential backoff up to the timeout. The
/// operating system drops the lock when its holder dies, so a crash never leaves a shard locked.
/// </summary>
/// <param name="timeout">How long to wait in all.</param>
/// <param name="throwIfDisposed">Called on each retry, so a disposed backend stops waiting.</param>
internal sealed class ShardLocker(TimeSpan timeout, Action throwIfDisposed)
{
    private const int StripeCount = 1024; // a power of two
    private const int MaxBackoffMilliseconds = 32;
    private static readonly SemaphoreSlim[] s_stripes = [.. Enumerable.Range(0, StripeCount).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly FileStreamOptions _lockFileOptions = ShardedLayout.OwnerOnly(FileMode.OpenOrCreate, FileAccess.Read);

    /// <summary>Waits for the lock of <paramref name="shard"/> (created when missing); dispose the result to release it.</summary>
    /// <exception cref="TimeoutException">The lock stayed held for the whole timeout.</exception>
    public async ValueTask<ShardLock> AcquireAsync(string shard, int shardNumber, CancellationToken cancellationToken)
    {
        var lockPath = Path.Combine(shard, ".lock");
        var started = Stopwatch.GetTimestamp();
        var stripe = s_stripes[shardNumber & (StripeCount - 1)];
        if (!await stripe.WaitAsync(timeout, cancellationToken))
        {
            throw new TimeoutException(
                $"Timed out after {timeout} waiting for the lock of session shard '{lockPath}': other writers in this process held it all that time. " +
                "If one is stuck, find it; otherwise raise FileSystemSessionBackendOptions.LockTimeout.");
        }

        try
        {
            for (var backoff = 1; ; backoff = Math.Min(backoff * 2, MaxBackoffMilliseconds))
            {
                throwIfDisposed();
                try
                {
                    return new ShardLock(stripe, new FileStream(lockPath, _lockFileOptions));
                }
                catch (IOException e) when (e is DirectoryNotFoundException or FileNotFoundException)
                {
                    // The shard's folder is missing. With OpenOrCreate that is the only cause of ENOENT, which .NET reports
                    // as FileNotFoundException when another process created the folder before it looked (a race seen with
                    // two processes writing a new shard at once). Level by level: Directory.CreateDirectory(path, mode) applies the mode only to the last folder it creates.
                    ShardedLayout.CreateDirectory(Path.GetDirectoryName(shard)!);
                    ShardedLayout.CreateDirectory(shard);
                }
                catch (IOException e) when (IsHeldByAnotherHandle(e))
                {
                    var remaining = timeout - Stopwatch.GetElapsedTime(started);
                    if (remaining <= TimeSpan.Zero)
                    {
                        throw new TimeoutException(
                            $"Timed out after {timeout} waiting for the lock file '{lockPath}': another process (or another handle in this one) held it all that time. " +
                            "A dead process's lock is released by the operating system, so a live process is stuck holding it; stop it, or raise FileSystemSessionBackendOptions.LockTimeout.",
                            e);
                    }

                    // Jitter keeps two processes that collided from retrying in lockstep.
                    var delay = TimeSpan.FromMilliseconds(backoff + Random.Shared.Next(backoff + 1));
                    await Task.Delay(delay < remaining ? delay : remaining, cancellationToken);
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
    internal static bool IsHeldByAnotherHandle(IOException e) => e is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException)
        && (OperatingSystem.IsWindows()
            ? (e.HResult & 0xFFFF) is 32 or 33 // ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
            : e.HResult is 11 or 35); // flock's EWOULDBLOCK as the raw errno: 11 on Linux, 35 on macOS and the BSDs
}

/// <summary>A held shard lock; disposing it releases the file lock, then the in-process stripe.</summary>
internal sealed class ShardLock(SemaphoreSlim stripe, FileStream file) : IAsyncDisposable
{
    private int _released;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            try
            {
                await file.DisposeAsync();
            }
            finally
            {
                stripe.Release();
            }
        }
    }
}
