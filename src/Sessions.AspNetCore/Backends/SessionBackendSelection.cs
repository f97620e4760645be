namespace Sessions.Backends;

/// <summary>
/// The backend in force, chosen among the registered ones (<c>ISessionsBuilder.UseBackend</c>): the one named by
/// <see cref="SessionOptions.Backend"/> (<c>Sessions:Backend</c>), or the only one registered when that is not set.
/// Resolve it from the container to learn which backend an app runs on.
/// </summary>
public sealed class SessionBackendSelection
{
    /// <summary>Chooses among <paramref name="registrations"/>.</summary>
    /// <param name="registrations">The backends the app registered, in registration order.</param>
    /// <param name="configuredName">The name set in <see cref="SessionOptions.Backend"/>, or <see langword="null"/>.</param>
    /// <exception cref="InvalidOperationException">No backend is registered; several are and none is named; or the name matches none. The message lists the registered names.</exception>
    public SessionBackendSelection(IEnumerable<SessionBackendRegistration> registrations, string? configuredName)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        Registration = Select([.. registrations], configuredName, out var error) ?? throw new InvalidOperationException(error);
    }

    /// <summary>
    /// Chooses among <paramref name="registrations"/> by <paramref name="options"/>: the migrating backend when
    /// <see cref="SessionOptions.Migration"/> names two backends, otherwise as <see cref="SessionOptions.Backend"/> says.
    /// </summary>
    /// <param name="registrations">The registered backends.</param>
    /// <param name="options">The session options.</param>
    internal SessionBackendSelection(IEnumerable<SessionBackendRegistration> registrations, SessionOptions options)
    {
        Registration = SelectWithMigration([.. registrations], options, out var error) ?? throw new InvalidOperationException(error);
    }

    /// <summary>The backend in force.</summary>
    public SessionBackendRegistration Registration { get; }

    /// <summary>The backend's name.</summary>
    public string Name => Registration.Name;

    /// <summary>Chooses a registration, the migrating one when <see cref="SessionOptions.Migration"/> is set, or explains why none can be chosen.</summary>
    /// <param name="registrations">The registered backends.</param>
    /// <param name="options">The session options.</param>
    /// <param name="error">Why nothing was chosen; what to set.</param>
    /// <returns>The registration, or <see langword="null"/> with <paramref name="error"/> set.</returns>
    internal static SessionBackendRegistration? SelectWithMigration(IReadOnlyList<SessionBackendRegistration> registrations, SessionOptions options, out string? error)
    {
        var migration = options.Migration;
        return migration is { IsConfigured: true }
            ? Migration.MigratingBackendRegistration.Select(registrations, migration, out error)
            : Select(registrations, options.Backend, out error);
    }

    /// <summary>Chooses a registration, or explains why none can be chosen.</summary>
    /// <param name="registrations">The registered backends.</param>
    /// <param name="configuredName">The configured name, or <see langword="null"/>.</param>
    /// <param name="error">Why nothing was chosen; what to set.</param>
    /// <returns>The registration, or <see langword="null"/> with <paramref name="error"/> set.</returns>
    internal static SessionBackendRegistration? Select(IReadOnlyList<SessionBackendRegistration> registrations, string? configuredName, out string? error)
    {
        error = null;
        if (registrations.Count == 0)
        {
            error = "No session backend is registered. Chain one onto AddSessions(): .AddMemoryBackend(), .AddFileSystemBackend(), .AddRedisBackend(...), ...";
            return null;
        }

        var names = string.Join(", ", registrations.Select(r => r.Name));
        if (string.IsNullOrWhiteSpace(configuredName))
        {
            if (registrations.Count == 1)
            {
                return registrations[0];
            }

            error = $"Several session backends are registered ({names}) and Sessions:Backend does not say which one to use. " +
                "Set Sessions:Backend (environment variable Sessions__Backend) to one of those names.";
            return null;
        }

        var wanted = configuredName.Trim();
        var match = registrations.LastOrDefault(r => string.Equals(r.Name, wanted, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            error = $"Sessions:Backend is \"{wanted}\", but no session backend of that name is registered. Registered: {names}. " +
                "Set Sessions:Backend to one of those names, or register the backend (for example .AddRedisBackend()).";
        }

        return match;
    }
}
