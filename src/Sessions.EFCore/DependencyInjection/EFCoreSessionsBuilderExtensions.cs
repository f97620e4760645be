using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sessions.Backends;
using Sessions.EFCore;
using Sessions.EFCore.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="EFCoreSessionBackend"/> as the session backend, and creates its table on request.</summary>
public static class EFCoreSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions in a SQL table through the backend's own internal <see cref="DbContext"/>. Create the table once with
    /// <see cref="EnsureSessionsTableAsync"/>; it is never created silently.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configureDatabase">Chooses the database: <c>db =&gt; db.UseSqlite(cs)</c> or <c>db =&gt; db.UseNpgsql(cs)</c>.</param>
    /// <param name="configure">Sets <see cref="EFCoreSessionBackendOptions"/> (table name, schema, batch sizes); <see langword="null"/> for defaults.</param>
    /// <returns>The builder.</returns>
    /// <example><code>builder.Services.AddSessions().AddEFCoreBackend(db => db.UseNpgsql(connectionString));</code></example>
    public static ISessionsBuilder AddEFCoreBackend(this ISessionsBuilder builder, Action<DbContextOptionsBuilder> configureDatabase, Action<EFCoreSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureDatabase);
        AddOptions(builder, configure);
        return builder.UseBackend("efcore", services => EFCoreSessionBackend.Create(
            configureDatabase,
            services.GetRequiredService<IOptions<EFCoreSessionBackendOptions>>().Value,
            services.GetService<TimeProvider>()));
    }

    /// <summary>
    /// Stores sessions in the table that the application's own <typeparamref name="TContext"/> maps with
    /// <c>modelBuilder.AddSessions()</c>, so the table is created by the app's migrations. Uses a registered
    /// <see cref="IDbContextFactory{TContext}"/> when there is one (<c>AddPooledDbContextFactory</c> is fastest), otherwise a
    /// service scope per operation (<c>AddDbContext</c> or <c>AddDbContextPool</c>).
    /// </summary>
    /// <typeparam name="TContext">The application's context type, registered in the container.</typeparam>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets batch sizes and retries; the table name comes from the model. <see langword="null"/> for defaults.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddEFCoreBackend<TContext>(this ISessionsBuilder builder, Action<EFCoreSessionBackendOptions>? configure = null)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddOptions(builder, configure);
        return builder.UseBackend("efcore", services =>
        {
            var options = services.GetRequiredService<IOptions<EFCoreSessionBackendOptions>>().Value;
            var contexts = services.GetService<IDbContextFactory<TContext>>() is { } factory
                ? ContextSources.FromFactory(factory)
                : ContextSources.FromScopes<TContext>(services.GetRequiredService<IServiceScopeFactory>());
            return new EFCoreSessionBackend(contexts, options, services.GetService<TimeProvider>());
        });
    }

    /// <summary>
    /// Creates the sessions table and its expiry index if they are missing: the explicit, optional schema step for the
    /// internal context (with your own context, prefer a migration). Safe to call on every start.
    /// </summary>
    /// <param name="services">The application's services (<c>app.Services</c>).</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns><see langword="true"/> when the table was created; <see langword="false"/> when it already existed.</returns>
    /// <exception cref="InvalidOperationException">The registered session backend is not the EF Core backend.</exception>
    public static Task<bool> EnsureSessionsTableAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        var backend = services.GetRequiredService<ISessionBackend>();
        return backend is EFCoreSessionBackend efcore
            ? efcore.EnsureTableAsync(cancellationToken)
            : throw new InvalidOperationException(
                $"EnsureSessionsTableAsync needs the EF Core session backend, but {backend.GetType().Name} is registered; chain .AddEFCoreBackend(...) onto AddSessions().");
    }

    private static void AddOptions(ISessionsBuilder builder, Action<EFCoreSessionBackendOptions>? configure)
    {
        var options = builder.Services.AddOptions<EFCoreSessionBackendOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EFCoreSessionBackendOptions>, OptionsValidator>());
    }

    private sealed class OptionsValidator : IValidateOptions<EFCoreSessionBackendOptions>
    {
        public ValidateOptionsResult Validate(string? name, EFCoreSessionBackendOptions options)
        {
            var errors = options.Validate();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
