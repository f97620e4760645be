using Microsoft.Extensions.DependencyInjection;

namespace Sessions.Backends.Migration;

/// <summary>Finds or makes the registration of the migrating backend that <see cref="SessionOptions.Migration"/> asks for.</summary>
internal static class MigratingBackendRegistration
{
    /// <summary>Creates the migrating backend from the registrations named <paramref name="from"/> and <paramref name="to"/>.</summary>
    public static SessionBackendRegistration Create(string from, string to) =>
        new(MigratingSessionBackend.RegistrationName(from, to), services =>
        {
            var registrations = services.GetServices<SessionBackendRegistration>().ToList();
            var source = Find(registrations, from) ?? throw new InvalidOperationException(NotRegistered("From", from, registrations));
            var target = Find(registrations, to) ?? throw new InvalidOperationException(NotRegistered("To", to, registrations));
            var fromBackend = source.Factory(services);
            return new MigratingSessionBackend(fromBackend, target.Factory(services), source.Name, target.Name);
        });

    /// <summary>The registration in force for <paramref name="migration"/>, or <see langword="null"/> and what to set.</summary>
    public static SessionBackendRegistration? Select(IReadOnlyList<SessionBackendRegistration> registrations, SessionMigrationOptions migration, out string? error)
    {
        error = null;
        var from = migration.From?.Trim();
        var to = migration.To?.Trim();
        if (string.IsNullOrEmpty(from) || string.IsNullOrEmpty(to))
        {
            error = $"Sessions:Migration needs both From and To (the names of two registered session backends); From is \"{from}\", To is \"{to}\". " +
                "Set both (for example Sessions__Migration__From=memcached and Sessions__Migration__To=redis), or remove both to use Sessions:Backend.";
            return null;
        }

        if (string.Equals(from, to, StringComparison.OrdinalIgnoreCase))
        {
            error = $"Sessions:Migration:From and Sessions:Migration:To are both \"{from}\"; a migration needs two different backends.";
            return null;
        }

        if (Find(registrations, from) is null)
        {
            error = NotRegistered("From", from, registrations);
            return null;
        }

        if (Find(registrations, to) is null)
        {
            error = NotRegistered("To", to, registrations);
            return null;
        }

        // The registration AddMigratingBackend made (possibly wrapped under the same name by a test kit), or a new one.
        return Find(registrations, MigratingSessionBackend.RegistrationName(from, to)) ?? Create(from, to);
    }

    private static SessionBackendRegistration? Find(IReadOnlyList<SessionBackendRegistration> registrations, string name) =>
        registrations.LastOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));

    private static string NotRegistered(string setting, string name, IReadOnlyList<SessionBackendRegistration> registrations) =>
        $"Sessions:Migration:{setting} is \"{name}\", but no session backend of that name is registered. Registered: " +
        $"{string.Join(", ", registrations.Select(r => r.Name))}. Register it (for example .AddRedisBackend()) or fix the name.";
}
