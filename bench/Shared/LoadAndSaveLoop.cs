using Sessions.Backends;

namespace Sessions.Benchmarks.Shared;

/// <summary>
/// The load-and-save loop the backend throughput programs share: each caller repeatedly reads one of its own keys and
/// writes it back conditionally (IfAbsent the first time, IfVersion after), as a request that modifies its session does.
/// </summary>
internal static class LoadAndSaveLoop
{
    /// <summary>Runs <paramref name="callers"/> concurrent callers for <paramref name="duration"/>.</summary>
    /// <returns>Completed operations, and how many saves a condition refused.</returns>
    public static async Task<(long Ops, long Conflicts)> RunAsync(
        ISessionBackend backend, int callers, int keysPerCaller, Func<int, int, string> key, ReadOnlyMemory<byte> payload, TimeSpan duration)
    {
        long total = 0;
        long refused = 0;
        using var stop = new CancellationTokenSource(duration);
        var workers = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            long done = 0;
            var k = 0;
            while (!stop.IsCancellationRequested)
            {
                var name = key(c, k++ % keysPerCaller);
                var current = await backend.GetAsync(name, CancellationToken.None);
                var version = current?.Version ?? 0;
                var next = new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(30), version + 1);
                var condition = current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(version);
                if (!await backend.SetAsync(name, next, condition, CancellationToken.None))
                {
                    Interlocked.Increment(ref refused);
                }

                done++;
            }

            Interlocked.Add(ref total, done);
        })).ToArray();
        await Task.WhenAll(workers);
        return (total, refused);
    }
}
