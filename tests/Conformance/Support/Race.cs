namespace Sessions.Conformance;

/// <summary>Runs callers against a backend at the same moment, so that conditional operations meet real contention.</summary>
internal static class Race
{
    /// <summary>
    /// Starts <paramref name="racers"/> thread-pool tasks, holds them until every one is waiting, releases them together,
    /// and returns each racer's result in racer order.
    /// </summary>
    public static async Task<T[]> RunAsync<T>(int racers, Func<int, ValueTask<T>> operation, CancellationToken cancellationToken)
    {
        var waiting = 0;
        var allWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = new Task<T>[racers];
        for (var i = 0; i < racers; i++)
        {
            var racer = i;
            tasks[i] = Task.Run(
                async () =>
                {
                    if (Interlocked.Increment(ref waiting) == racers)
                    {
                        allWaiting.SetResult();
                    }

                    await go.Task;
                    return await operation(racer);
                },
                cancellationToken);
        }

        await allWaiting.Task.WaitAsync(cancellationToken);
        go.SetResult();
        return await Task.WhenAll(tasks).WaitAsync(cancellationToken);
    }
}
