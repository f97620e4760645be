using System.ComponentModel.DataAnnotations;

namespace Sessions;

/// <summary>
/// The circuit breaker that stops calling a session store that is down (Polly's advanced circuit breaker: see
/// https://www.pollydocs.org/strategies/circuit-breaker). It opens when, within <see cref="SamplingDuration"/>, at least
/// <see cref="MinimumThroughput"/> backend calls were made and at least <see cref="FailureRatio"/> of them failed or timed
/// out; while open, every call fails at once with <see cref="SessionBackendException"/> saying the store is known to be
/// down. After <see cref="BreakDuration"/> one call is let through as a probe: if it succeeds the breaker closes and
/// sessions are served again, otherwise it opens for another <see cref="BreakDuration"/>.
/// </summary>
/// <remarks>Bound from <c>Sessions:CircuitBreaker</c>. Runs on the system clock.</remarks>
public sealed class SessionCircuitBreakerOptions
{
    /// <summary>Whether the breaker is used. Default <see langword="true"/>; <see langword="false"/> leaves only <see cref="SessionOptions.OperationTimeout"/>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The share of failed calls, above 0 and at most 1, that opens the breaker. Default 0.5.</summary>
    [Range(0.0, 1.0, MinimumIsExclusive = true, ErrorMessage = "Sessions:CircuitBreaker:FailureRatio must be above 0 and at most 1.")]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>
    /// The fewest calls within <see cref="SamplingDuration"/> before the breaker may open, at least 2; a quiet app's
    /// occasional failure does not open it. Default 10.
    /// </summary>
    [Range(2, int.MaxValue, ErrorMessage = "Sessions:CircuitBreaker:MinimumThroughput must be at least {1}.")]
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>The window over which calls are counted, at least 500 ms (Polly's minimum). Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00", ErrorMessage = "Sessions:CircuitBreaker:SamplingDuration must be between 500 ms and a day.")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the breaker stays open before the next probe call, 500 ms (Polly's minimum) to 1 minute. It bounds how long
    /// after the store's return sessions are still refused. Default 500 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:01:00", ErrorMessage = "Sessions:CircuitBreaker:BreakDuration must be between 500 ms and 1 minute.")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromMilliseconds(500);
}
