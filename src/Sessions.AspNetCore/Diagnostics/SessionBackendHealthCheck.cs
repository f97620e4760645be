using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sessions.Backends;
using Sessions.Engine;

namespace Sessions.Diagnostics;

/// <summary>Reports whether the session backend answers: its own probe (e.g. Redis PING) if it has one, else a read of an absent key.</summary>
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
            if (_store.Backend is ISessionBackendHealthProbe probe)
            {
                await probe.ProbeAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _store.Backend.GetAsync(_store.Options.KeyPrefix + "health-probe", cancellationToken).ConfigureAwait(false);
            }

            return HealthCheckResult.Healthy($"Session backend '{_store.BackendName}' answers.", data);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, $"Session backend '{_store.BackendName}' does not answer: {ex.Message}", ex, data);
        }
    }
}
