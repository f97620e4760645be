using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using Sessions.Backends;
using Sessions.Diagnostics;

namespace Sessions.Engine;

/// <summary>
/// What stands between the engine and a backend: an operation timeout on every call and a circuit breaker (a Polly.Core
/// pipeline, circuit breaker outside the timeout, so a timed-out call counts as a failure), and the outage log: one entry
/// when calls start failing, a count at most every <see cref="ReportInterval"/>, one entry when a call succeeds again.
/// </summary>
/// <remarks>
/// A backend that declares partitions (<see cref="ISessionBackendPartitions"/>) gets one breaker and one outage per
/// partition, created on first use, so that one failing Redis primary or memcached server fails only the keys stored on
/// it. At most <see cref="MaxPartitions"/> are kept; a partition without calls for <see cref="PartitionIdleLifetime"/>
/// is forgotten (a failover moved its keys). Every other call (a backend without partitions, a key the backend cannot
/// place, a partition beyond the limit) goes through the one whole-store breaker, exactly as without partitions.
/// </remarks>
internal sealed class BackendGuard
{
    /// <summary>How often, at most, a continuing outage is reported (event 1041).</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    /// <summary>The most partitions with their own breaker; further ones share the whole store's (event 1051, once).</summary>
    public const int MaxPartitions = 256;

    /// <summary>How long a partition may go without a call before it is forgotten (event 1050 if it was in an outage).</summary>
    public static readonly TimeSpan PartitionIdleLifetime = TimeSpan.FromMinutes(1);

    private readonly SessionOptions _options;
    private readonly string _backend;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ISessionBackendPartitions? _partitions;
    private readonly ConcurrentDictionary<string, Partition> _byName = new(StringComparer.Ordinal);
    private readonly Lock _addLock = new();
    private readonly long _idleTicks;
    private long _lastSweep;
    private int _downCount;
    private int _limitLogged;

    /// <summary>Creates the guard.</summary>
    /// <param name="options">Validated session options: <see cref="SessionOptions.OperationTimeout"/> and <see cref="SessionOptions.CircuitBreaker"/>.</param>
    /// <param name="backend">The backend's name, for messages.</param>
    /// <param name="logger">Receives the outage log.</param>
    /// <param name="timeProvider">The clock for timeouts and the breaker; <see langword="null"/> for the system clock (the only sensible one outside tests).</param>
    /// <param name="partitions">The backend's partitions, when it declares them; <see langword="null"/> for one breaker for the whole store.</param>
    public BackendGuard(SessionOptions options, string backend, ILogger logger, TimeProvider? timeProvider = null, ISessionBackendPartitions? partitions = null)
    {
        _options = options;
        _backend = backend;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _partitions = partitions;
        _idleTicks = (long)(PartitionIdleLifetime.TotalSeconds * _time.TimestampFrequency);
        _lastSweep = _time.GetTimestamp();
        OperationTimeout = options.OperationTimeout;
        BreakDuration = options.CircuitBreaker.BreakDuration;
        WholeStore = new Partition(this, null);
    }

    /// <summary>The operation timeout in force.</summary>
    public TimeSpan OperationTimeout { get; }

    /// <summary>How long a breaker stays open before it lets a probe call through.</summary>
    public TimeSpan BreakDuration { get; }

    /// <summary>The whole store's breaker and outage: for backends without partitions and calls without a key.</summary>
    public Partition WholeStore { get; }

    /// <summary>
    /// Whether calls are failing now anywhere in the store: the whole store, or any one partition (an outage has started
    /// and no call to it has succeeded since). A partition forgotten after <see cref="PartitionIdleLifetime"/> no longer counts.
    /// </summary>
    public bool IsDown => Volatile.Read(ref _downCount) > 0;

    /// <summary>The partitions that have their own breaker now (for tests).</summary>
    public int PartitionCount => _byName.Count;

    /// <summary>
    /// The breaker and outage log for a call on <paramref name="key"/>: its partition's when the backend declares one for
    /// it, otherwise the whole store's. Cheap: no allocation once the partition is known.
    /// </summary>
    /// <param name="key">The storage key the call is about.</param>
    /// <returns>What to run the call through and report its outcome to.</returns>
    public Partition For(string key)
    {
        if (_partitions is null)
        {
            return WholeStore;
        }

        string? name;
        try
        {
            name = _partitions.GetPartition(key);
        }
        catch (Exception)
        {
            name = null; // the contract says it must not throw; if it does, the whole store's breaker still protects the call
        }

        if (name is null)
        {
            return WholeStore;
        }

        var now = _time.GetTimestamp();
        if (now - Volatile.Read(ref _lastSweep) >= _idleTicks)
        {
            Sweep(now);
        }

        if (_byName.TryGetValue(name, out var partition))
        {
            partition.Used(now);
            return partition;
        }

        return Add(name, now);
    }

    /// <summary>Runs one call under the whole store's timeout and breaker (see <see cref="Partition.ExecuteAsync"/>).</summary>
    /// <exception cref="TimeoutRejectedException">The call took longer than <see cref="OperationTimeout"/>.</exception>
    /// <exception cref="BrokenCircuitException">The breaker is open: the store is known to be down.</exception>
    public ValueTask<TResult> ExecuteAsync<TResult, TState>(Func<TState, CancellationToken, ValueTask<TResult>> call, TState state, CancellationToken cancellationToken) =>
        WholeStore.ExecuteAsync(call, state, cancellationToken);

    /// <summary>A one-line reason for the log: the exception's type and first line, without a stack trace.</summary>
    public string Describe(Exception exception) => exception switch
    {
        TimeoutRejectedException => $"no answer within {OperationTimeout.TotalMilliseconds:0} ms (Sessions:OperationTimeout)",
        BrokenCircuitException => "the circuit breaker is open: the store is known to be down",
        _ => $"{exception.GetType().Name}: {FirstLine(exception.Message)}",
    };

    private Partition Add(string name, long now)
    {
        lock (_addLock)
        {
            if (_byName.TryGetValue(name, out var existing))
            {
                return existing;
            }

            if (_byName.Count >= MaxPartitions)
            {
                Sweep(now);
                if (_byName.Count >= MaxPartitions)
                {
                    if (Interlocked.Exchange(ref _limitLogged, 1) == 0)
                    {
                        Log.PartitionLimitReached(_logger, _backend, MaxPartitions);
                    }

                    return WholeStore;
                }
            }

            var partition = new Partition(this, name);
            partition.Used(now);
            _byName[name] = partition;
            return partition;
        }
    }

    // Forgets the partitions that got no call for PartitionIdleLifetime; one in an outage ends it with event 1050.
    private void Sweep(long now)
    {
        Volatile.Write(ref _lastSweep, now);
        foreach (var (name, partition) in _byName)
        {
            if (now - partition.LastUsed >= _idleTicks && _byName.TryRemove(new KeyValuePair<string, Partition>(name, partition)))
            {
                partition.Retire(now);
            }
        }
    }

    private ResiliencePipeline BuildPipeline()
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = _time };
        if (_options.CircuitBreaker.Enabled)
        {
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = _options.CircuitBreaker.FailureRatio,
                MinimumThroughput = _options.CircuitBreaker.MinimumThroughput,
                SamplingDuration = _options.CircuitBreaker.SamplingDuration,
                BreakDuration = _options.CircuitBreaker.BreakDuration,
                ShouldHandle = static args => new(args.Outcome.Exception is { } ex && BackendAccessor.IsBackendFailure(ex, args.Context.CancellationToken)),
            });
        }

        builder.AddTimeout(new TimeoutStrategyOptions { Timeout = _options.OperationTimeout });
        return builder.Build();
    }

    private static string FirstLine(string message)
    {
        var end = message.AsSpan().IndexOfAny('\r', '\n');
        return end < 0 ? message : message[..end];
    }

    // Completes with the call, or throws OperationCanceledException as soon as the token fires even if the call ignores it.
    private static ValueTask<TResult> Bounded<TResult>(ValueTask<TResult> call, CancellationToken cancellationToken)
    {
        if (call.IsCompleted || !cancellationToken.CanBeCanceled)
        {
            return call;
        }

        return new(WaitAsync(call.AsTask(), cancellationToken));
    }

    private static async Task<TResult> WaitAsync<TResult>(Task<TResult> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !call.IsCompleted)
        {
            // Abandoned: observe its eventual failure so that it is not reported as unobserved.
            _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>One breaker (with the timeout inside it) and one outage log: the whole store's, or one partition's.</summary>
    internal sealed class Partition
    {
        private readonly BackendGuard _guard;
        private readonly ResiliencePipeline _pipeline;
        private readonly Lock _lock = new();
        private volatile bool _down;
        private bool _retired;
        private long _lastUsed;
        private long _outageStarted;
        private long _lastReport;
        private long _failed;

        internal Partition(BackendGuard guard, string? name)
        {
            _guard = guard;
            Name = name;
            Description = name is null ? "whole store" : "partition " + name;
            _pipeline = guard.BuildPipeline();
        }

        /// <summary>The partition's name as the backend gave it; <see langword="null"/> for the whole store.</summary>
        public string? Name { get; }

        /// <summary>"whole store" or "partition &lt;name&gt;", for messages.</summary>
        public string Description { get; }

        /// <summary>Whether calls here are failing now (an outage has started and no call has succeeded since).</summary>
        public bool IsDown => _down;

        /// <summary>How long the current outage has lasted; zero when there is none.</summary>
        public TimeSpan OutageDuration
        {
            get
            {
                lock (_lock)
                {
                    return _down ? _guard._time.GetElapsedTime(_outageStarted) : TimeSpan.Zero;
                }
            }
        }

        internal long LastUsed => Volatile.Read(ref _lastUsed);

        /// <summary>
        /// Runs one backend call under the timeout and this breaker. The timeout is enforced even when the backend ignores
        /// its cancellation token: the caller stops waiting, and the abandoned call's outcome is observed and dropped.
        /// </summary>
        /// <exception cref="TimeoutRejectedException">The call took longer than <see cref="OperationTimeout"/>.</exception>
        /// <exception cref="BrokenCircuitException">The breaker is open: this partition (or the store) is known to be down.</exception>
        public ValueTask<TResult> ExecuteAsync<TResult, TState>(Func<TState, CancellationToken, ValueTask<TResult>> call, TState state, CancellationToken cancellationToken) =>
            _pipeline.ExecuteAsync(
                static (s, ct) => Bounded(s.call(s.state, ct), ct),
                (call, state),
                cancellationToken);

        /// <summary>Records a call that the store answered; ends an outage if one was going on.</summary>
        public void Succeeded()
        {
            if (!_down)
            {
                return;
            }

            lock (_lock)
            {
                if (!_down)
                {
                    return;
                }

                _down = false;
                if (!_retired)
                {
                    Interlocked.Decrement(ref _guard._downCount);
                }

                Log.OutageEnded(_guard._logger, _guard._backend, Description, _guard._time.GetElapsedTime(_outageStarted).TotalMilliseconds, _failed);
            }
        }

        /// <summary>Records a failed call: starts an outage, or counts it in the one going on.</summary>
        /// <returns>How many calls have failed in this outage, this one included.</returns>
        public long Failed(string operation, Exception exception)
        {
            long failed;
            lock (_lock)
            {
                var now = _guard._time.GetTimestamp();
                if (!_down)
                {
                    _down = true;
                    if (!_retired)
                    {
                        Interlocked.Increment(ref _guard._downCount);
                    }

                    _outageStarted = now;
                    _lastReport = now;
                    _failed = 1;
                    Log.OutageStarted(_guard._logger, _guard._backend, Description, operation, _guard.Describe(exception));
                }
                else
                {
                    _failed++;
                    if (_guard._time.GetElapsedTime(_lastReport, now) >= ReportInterval)
                    {
                        _lastReport = now;
                        Log.OutageContinuing(_guard._logger, _guard._backend, Description, _guard._time.GetElapsedTime(_outageStarted, now).TotalSeconds, _failed, _guard.Describe(exception));
                    }
                }

                failed = _failed;
            }

            Log.BackendFailed(_guard._logger, exception, _guard._backend, operation);
            return failed;
        }

        // Marks a call; written at most about once a second so that busy partitions do not contend on it.
        internal void Used(long now)
        {
            if (now - Volatile.Read(ref _lastUsed) >= _guard._time.TimestampFrequency)
            {
                Volatile.Write(ref _lastUsed, now);
            }
        }

        // Forgotten by the guard: a late outcome of a call still in flight is logged as usual but no longer counts in IsDown.
        internal void Retire(long now)
        {
            lock (_lock)
            {
                _retired = true;
                if (_down)
                {
                    Interlocked.Decrement(ref _guard._downCount);
                    Log.PartitionRetired(_guard._logger, _guard._backend, Description, _guard._time.GetElapsedTime(_lastUsed, now).TotalSeconds, _failed);
                }
            }
        }
    }
}
