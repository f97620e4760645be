namespace Sessions.Backends;

/// <summary>A backend registered with <c>ISessionsBuilder.UseBackend</c>: its name and how to create it.</summary>
/// <param name="name">The backend's short name, used in metrics, traces, logs and health checks.</param>
/// <param name="factory">Creates the backend from the application's services.</param>
public sealed class SessionBackendRegistration(string name, Func<IServiceProvider, ISessionBackend> factory)
{
    /// <summary>The backend's short name, used in metrics, traces, logs and health checks.</summary>
    public string Name { get; } = name;

    /// <summary>Creates the backend from the application's services.</summary>
    public Func<IServiceProvider, ISessionBackend> Factory { get; } = factory;
}
