using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Sessions.Backends;
using Sessions.Engine;
using Sessions.Memory;

namespace Sessions.Benchmarks;

/// <summary>
/// What the operation timeout and circuit breaker (issue 14) add to one backend call: a read of a stored record straight
/// from the in-memory backend (the baseline) against the same read through the engine's <see cref="BackendGuard"/>, for a
/// call that completes synchronously and for one that completes asynchronously (as every network store's does).
/// </summary>
[MemoryDiagnoser]
public class BackendGuardBenchmarks
{
    private const string Key = "session:bench";
    private MemorySessionBackend _backend = null!;
    private YieldingBackend _yielding = null!;
    private BackendGuard _guard = null!;

    [GlobalSetup]
    public void Setup()
    {
        _backend = new MemorySessionBackend();
        _backend.SetAsync(Key, new SessionRecord(new byte[256], DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _yielding = new YieldingBackend(_backend);
        _guard = new BackendGuard(new SessionOptions(), "memory", NullLogger.Instance);
    }

    [Benchmark(Baseline = true)]
    public ValueTask<SessionRecord?> Direct() => _backend.GetAsync(Key, CancellationToken.None);

    [Benchmark]
    public ValueTask<SessionRecord?> Guarded() =>
        _guard.ExecuteAsync(static (b, ct) => b.GetAsync(Key, ct), _backend, CancellationToken.None);

    [Benchmark]
    public async Task<SessionRecord?> DirectAsync() => await _yielding.GetAsync(Key, CancellationToken.None);

    [Benchmark]
    public async Task<SessionRecord?> GuardedAsync() =>
        await _guard.ExecuteAsync(static (b, ct) => b.GetAsync(Key, ct), _yielding, CancellationToken.None);

    /// <summary>Completes every read asynchronously, after a <see cref="Task.Yield"/>, as a network store would.</summary>
    private sealed class YieldingBackend(MemorySessionBackend inner)
    {
        public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
        {
            await Task.Yield();
            return await inner.GetAsync(key, cancellationToken);
        }
    }
}
