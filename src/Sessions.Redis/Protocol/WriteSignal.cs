using System.Threading.Tasks.Sources;

namespace Sessions.Redis.Protocol;

/// <summary>
/// Wakes a connection's writer loop when commands are queued: an auto-reset signal with a single waiter that allocates
/// nothing (a <c>SemaphoreSlim.WaitAsync</c> with a token allocates a task, a node and a cancellation promise per wait).
/// The waiter resumes on the thread pool (this object is the work item), never on the thread that queued a command.
/// </summary>
internal sealed class WriteSignal : IValueTaskSource, IThreadPoolWorkItem
{
    private const int Idle = 0;
    private const int Signalled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core;
    private int _state;

    /// <summary>Wakes the waiter, or lets its next wait return at once.</summary>
    public void Set()
    {
        while (true)
        {
            switch (Volatile.Read(ref _state))
            {
                case Signalled:
                    return;
                case Idle when Interlocked.CompareExchange(ref _state, Signalled, Idle) == Idle:
                    return;
                case Waiting when Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting:
                    ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                    return;
            }
        }
    }

    /// <summary>Completes when <see cref="Set"/> is called (or at once if it was called since the last wait). One waiter at a time.</summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signalled) == Signalled)
        {
            return default;
        }

        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) == Idle)
        {
            return new ValueTask(this, _core.Version);
        }

        Volatile.Write(ref _state, Idle); // signalled between the two checks
        return default;
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    void IThreadPoolWorkItem.Execute() => _core.SetResult(true);
}
