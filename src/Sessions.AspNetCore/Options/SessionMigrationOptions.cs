namespace Sessions;

/// <summary>
/// Moving sessions from one store to another without logging anyone out (<c>Sessions:Migration</c>): when both
/// <see cref="From"/> and <see cref="To"/> name registered backends, the migrating backend
/// (<see cref="Sessions.Backends.Migration.MigratingSessionBackend"/>) is in force, whatever <see cref="SessionOptions.Backend"/> says.
/// Remove both settings to finish the move (see docs/changing-stores.md).
/// </summary>
public sealed class SessionMigrationOptions
{
    /// <summary>The name of the registered backend sessions move out of (for example <c>memcached</c>). Default: none.</summary>
    public string? From { get; set; }

    /// <summary>The name of the registered backend sessions move into (for example <c>redis</c>). Default: none.</summary>
    public string? To { get; set; }

    /// <summary>Whether either name is set (a migration is asked for; both must then be set, differ and be registered).</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(From) || !string.IsNullOrWhiteSpace(To);
}
