namespace Sessions.Backends;

/// <summary>
/// Optional backend capability: a cheap liveness check (for example Redis <c>PING</c>) used by the sessions health check.
/// Backends without it are checked with a read of a key that does not exist.
/// </summary>
public interface ISessionBackendHealthProbe
{
    /// <summary>Checks that the backend answers.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>A task that completes when the backend answered.</returns>
    /// <exception cref="Exception">Any exception means unhealthy; its message should say what to check (host, port, credentials).</exception>
    ValueTask ProbeAsync(CancellationToken cancellationToken);
}
