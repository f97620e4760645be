using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using Sessions.Diagnostics;

namespace Sessions.Engine;

/// <summary>
/// What stands between the engine and a backend: an operation timeout on every call and a circuit breaker (a Polly.Core
/// pipeline, circuit breaker outside the timeout, so a timed-out call counts as a failure), and the outage log: one entry
/// when calls start failing, a count at most every <see cref="ReportInterval"/>, one entry when a call succeeds again.
/// </summary>
internal sealed class BackendGuard
{
    /// <summary>How often, at most, a continuing outage is reported (event 1041).</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    private readonly ResiliencePipeline _pipeline;
    private readonly string _backend;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private volatile bool _down;
    private long _outageStarted;
    private long _lastReport;
    private long _failed;

    /// <summary>Creates the guard.</summary>
    /// <param name="options">Validated session options: <see cref="SessionOptions.OperationTimeout"/> and <see cref="SessionOptions.CircuitBreaker"/>.</param>
    /// <param name="backend">The backend's name, for messages.</param>
    /// <param name="logger">Receives the outage log.</param>
    /// <param name="timeProvider">The clock for timeouts and the breaker; <see langword="null"/> for the system clock (the only sensible one outside tests).</param>
    public BackendGuard(SessionOptions options, string backend, ILogger logger, TimeProvider? timeProvider = null)
    {
        _backend = backend;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        OperationTimeout = options.OperationTimeout;
        BreakDuration = options.CircuitBreaker.BreakDuration;
        var builder = new ResiliencePipelineBuilder { TimeProvider = _time };
        if (options.CircuitBreaker.Enabled)
        {
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.CircuitBreaker.FailureRatio,
                MinimumThroughput = options.CircuitBreaker.MinimumThroughput,
                SamplingDuration = options.CircuitBreaker.SamplingDuration,
                BreakDuration = options.CircuitBreaker.BreakDuration,
                ShouldHandle = static args => new(args.Outcome.Exception is { } ex && SessionStore.IsBackendFailure(ex, args.Context.CancellationToken)),
            });
        }

        builder.AddTimeout(new TimeoutStrategyOptions { Timeout = options.OperationTimeout });
        _pipeline = builder.Build();
    }

    /// <summary>The operation timeout in force.</summary>
    public TimeSpan OperationTimeout { get; }

    /// <summary>How long the breaker stays open before it lets a probe call through.</summary>
    public TimeSpan BreakDuration { get; }

    /// <summary>Whether calls are failing now (an outage has started and no call has succeeded since).</summary>
    public bool IsDown => _down;

    /// <summary>
    /// Runs one backend call under the timeout and the breaker. The timeout is enforced even when the backend ignores
    /// its cancellation token: the caller stops waiting, and the abandoned call's outcome is observed and dropped.
    /// </summary>
    /// <exception cref="TimeoutRejectedException">The call took longer than <see cref="OperationTimeout"/>.</exception>
    /// <exception cref="BrokenCircuitException">The breaker is open: the store is known to be down.</exception>
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
            Log.OutageEnded(_logger, _backend, _time.GetElapsedTime(_outageStarted).TotalMilliseconds, _failed);
        }
    }

    /// <summary>Records a failed call: starts an outage, or counts it in the one going on.</summary>
    /// <returns>How many calls have failed in this outage, this one included.</returns>
    public long Failed(string operation, Exception exception)
    {
        long failed;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (!_down)
            {
                _down = true;
                _outageStarted = now;
                _lastReport = now;
                _failed = 1;
                Log.OutageStarted(_logger, _backend, operation, Describe(exception));
            }
            else
            {
                _failed++;
                if (_time.GetElapsedTime(_lastReport, now) >= ReportInterval)
                {
                    _lastReport = now;
                    Log.OutageContinuing(_logger, _backend, _time.GetElapsedTime(_outageStarted, now).TotalSeconds, _failed, Describe(exception));
                }
            }

            failed = _failed;
        }

        Log.BackendFailed(_logger, exception, _backend, operation);
        return failed;
    }

    /// <summary>How long the current outage has lasted; zero when there is none.</summary>
    public TimeSpan OutageDuration
    {
        get
        {
            lock (_lock)
            {
                return _down ? _time.GetElapsedTime(_outageStarted) : TimeSpan.Zero;
            }
        }
    }

    /// <summary>A one-line reason for the log: the exception's type and first line, without a stack trace.</summary>
    public string Describe(Exception exception) => exception switch
    {
        TimeoutRejectedException => $"no answer within {OperationTimeout.TotalMilliseconds:0} ms (Sessions:OperationTimeout)",
        BrokenCircuitException => "the circuit breaker is open: the store is known to be down",
        _ => $"{exception.GetType().Name}: {FirstLine(exception.Message)}",
    };

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
}
