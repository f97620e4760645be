using Microsoft.Extensions.Diagnostics.HealthChecks;
using Polly.CircuitBreaker;
using Polly.Timeout;
using Sessions.Engine;

namespace Sessions.Diagnostics;

/// <summary>
/// Reports whether the session backend answers: its own probe (e.g. Redis PING) if it has one, else a read of an absent
/// key; through the engine's backend accessor, so under the operation timeout and the circuit breaker.
/// </summary>
public sealed class SessionBackendHealthCheck : IHealthCheck
{
    private readonly SessionStore _store;

    /// <summary>Creates the health check.</summary>
    /// <param name="store">The session engine whose backend is checked.</param>
    public SessionBackendHealthCheck(SessionStore store) => _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["backend"] = _store.BackendName };
        try
        {
            await _store.Accessor.ProbeAsync(_store.Options.KeyPrefix + "health-probe", cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Session backend '{_store.BackendName}' answers.", data);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The store's own error says what went wrong; a timeout or an open breaker is said best by the wrapper.
            var cause = ex is SessionBackendException { InnerException: { } inner } && inner is not (TimeoutRejectedException or BrokenCircuitException) ? inner : ex;
            return new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, $"Session backend '{_store.BackendName}' does not answer: {cause.Message}", cause, data);
        }
    }
}
