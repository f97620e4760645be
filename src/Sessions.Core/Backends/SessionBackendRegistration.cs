namespace Sessions.Backends;

/// <summary>The backend chosen with <c>ISessionsBuilder.UseBackend</c>: its name and how to create it.</summary>
/// <param name="Name">The backend's short name, used in metrics, traces, logs and health checks.</param>
/// <param name="Factory">Creates the backend from the application's services.</param>
public sealed record SessionBackendRegistration(string Name, Func<IServiceProvider, ISessionBackend> Factory);
