using Microsoft.Extensions.Hosting;

namespace Sessions.Engine;

/// <summary>
/// The engine's work that outlives the request that started it (a regenerate watching for a late tombstone). Registered
/// as a hosted service, so the host owns it: <see cref="StopAsync"/> cancels what is still running and waits for it to
/// end, before the backend it uses is disposed. Work started after that is not run.
/// </summary>
internal sealed class BackgroundWork : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<Task> _running = [];
    private readonly Lock _lock = new();
    private bool _stopped;

    /// <summary>How many pieces of work are running now (for tests).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _running.Count;
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> on the thread pool, with a token that fires when the host stops.</summary>
    /// <param name="work">The work; it should end soon after its token fires, and handles its own failures.</param>
    /// <returns>Whether it was started (not after <see cref="StopAsync"/>).</returns>
    public bool Start(Func<CancellationToken, Task> work)
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return false;
            }

            var token = _stopping.Token;
            var task = Task.Run(() => work(token), CancellationToken.None);
            _running.Add(task);
            _ = task.ContinueWith(Forget, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return true;
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Cancels the running work and waits until it has ended, or until <paramref name="cancellationToken"/> fires.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task[] running;
        lock (_lock)
        {
            _stopped = true;
            running = [.. _running];
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The work handles its own failures; a cancelled one ends with OperationCanceledException, which is expected here.
        }
    }

    /// <summary>Cancels the running work without waiting (a container disposed without the host's stop).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _stopped = true;
        }

        _stopping.Cancel(); // the source is not disposed: a late StopAsync still cancels it
    }

    private static void Forget(Task task, object? state)
    {
        var work = (BackgroundWork)state!;
        lock (work._lock)
        {
            work._running.Remove(task);
        }

        _ = task.Exception; // observed: a failure was the work's own to report
    }
}
