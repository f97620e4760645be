namespace Sessions.Backends;

/// <summary>
/// Optional capability: work the backend needs done once before it serves requests (create a table or an index, check
/// its shape, enable TTL). The engine runs it when the host starts, for the backend in force only, and a failure stops
/// start-up with the backend's message instead of failing the first request.
/// </summary>
public interface ISessionBackendInitializer
{
    /// <summary>Prepares the store. Called once, at host start, before the first request; must be safe to run again on the next start.</summary>
    /// <param name="cancellationToken">Cancelled when start-up is abandoned.</param>
    /// <returns>A task that completes when the store is ready.</returns>
    /// <exception cref="SessionStoreException">The store cannot be prepared; the message says what to set or check.</exception>
    ValueTask InitializeAsync(CancellationToken cancellationToken);
}
