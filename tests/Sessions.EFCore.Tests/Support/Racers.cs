namespace Sessions.EFCore.Tests.Support;

/// <summary>Races callers on one key, each on its own thread-pool thread and so on its own pooled connection.</summary>
internal static class Racers
{
    /// <summary>Releases <paramref name="racers"/> callers at once and returns the indexes of those whose operation returned <see langword="true"/>.</summary>
    public static async Task<List<int>> WinnersAsync(int racers, Func<int, ValueTask<bool>> operation)
    {
        using var ready = new CountdownEvent(racers);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, racers).Select(i => Task.Run(async () =>
        {
            ready.Signal();
            await go.Task;
            return await operation(i);
        })).ToArray();
        ready.Wait(TimeSpan.FromSeconds(30));
        go.SetResult();
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
        return [.. Enumerable.Range(0, racers).Where(i => results[i])];
    }
}
