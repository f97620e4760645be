using Sessions.Backends.Migration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the migrating backend, which moves sessions between two registered stores while the app runs.</summary>
public static class MigratingBackendBuilderExtensions
{
    /// <summary>
    /// Moves sessions from the backend named <paramref name="from"/> to the one named <paramref name="to"/> (both registered
    /// on this builder, before or after this call) without logging anyone out: reads try <paramref name="to"/> first and fall
    /// back to <paramref name="from"/>, a session found only in <paramref name="from"/> moves on its next save, new sessions
    /// go only to <paramref name="to"/>, deletes and revocations reach both. The migrating backend is then in force whatever
    /// <c>Sessions:Backend</c> says; it is registered as <c>{from}-&gt;{to}</c>. The same follows from configuration alone
    /// (<c>Sessions:Migration:From</c> and <c>Sessions:Migration:To</c>); values set here win over configuration.
    /// </summary>
    /// <param name="builder">The sessions builder.</param>
    /// <param name="from">The name of the backend sessions move out of (for example <c>memcached</c>).</param>
    /// <param name="to">The name of the backend sessions move into (for example <c>redis</c>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A name is empty, or both are the same.</exception>
    /// <remarks>A name that matches no registered backend fails start-up with the list of registered names.</remarks>
    public static ISessionsBuilder AddMigratingBackend(this ISessionsBuilder builder, string from, string to)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(from);
        ArgumentException.ThrowIfNullOrWhiteSpace(to);
        if (string.Equals(from.Trim(), to.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"A migration needs two different backends; both are \"{from}\".", nameof(to));
        }

        builder.Services.Configure<Sessions.SessionOptions>(o =>
        {
            o.Migration.From = from.Trim();
            o.Migration.To = to.Trim();
        });
        var registration = MigratingBackendRegistration.Create(from.Trim(), to.Trim());
        return builder.UseBackend(registration.Name, registration.Factory);
    }
}
