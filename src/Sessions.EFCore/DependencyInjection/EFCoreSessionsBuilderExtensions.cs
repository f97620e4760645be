using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sessions.Backends;
using Sessions.EFCore;
using Sessions.EFCore.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="EFCoreSessionBackend"/> as a session backend (named <c>efcore</c>), and creates its table on request.</summary>
public static class EFCoreSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions in a SQL table through the backend's own internal <see cref="DbContext"/>, on the database that
    /// configuration names: <c>Sessions:EFCore:Provider</c> (<c>Sqlite</c> or <c>PostgreSQL</c>) and
    /// <c>Sessions:EFCore:ConnectionString</c>. All options bind from <c>Sessions:EFCore</c> when sessions were added with
    /// <c>AddSessions(IConfiguration)</c>; then <paramref name="configure"/> runs. Create the table once with
    /// <see cref="EnsureSessionsTableAsync"/>; it is never created silently.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="EFCoreSessionBackendOptions"/> after binding; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// When this backend is selected and <see cref="EFCoreSessionBackendOptions.Provider"/> or
    /// <see cref="EFCoreSessionBackendOptions.ConnectionString"/> is missing, start-up fails with an
    /// <see cref="OptionsValidationException"/> saying what to set. If the lambda you pass could also be read as a database
    /// delegate (for example <c>o =&gt; section.Bind(o)</c>), type its parameter: <c>(EFCoreSessionBackendOptions o) =&gt; ...</c>.
    /// </remarks>
    /// <example><code>
    /// // appsettings.json: "Sessions": { "EFCore": { "Provider": "PostgreSQL", "ConnectionString": "Host=...;Database=app" } }
    /// builder.Services.AddSessions(builder.Configuration.GetSection("Sessions")).AddEFCoreBackend();
    /// </code></example>
    public static ISessionsBuilder AddEFCoreBackend(this ISessionsBuilder builder, Action<EFCoreSessionBackendOptions>? configure = null) =>
        builder.AddBackend<EFCoreSessionBackendOptions, EFCoreSessionBackendOptionsValidator>(BackendName, SectionName, configure, static (services, options) =>
        {
            var missing = new List<string>();
            if (options.Provider is null)
            {
                missing.Add("Sessions:EFCore:Provider must name the database: Sqlite, PostgreSQL, MySql (also MariaDB) or SqlServer, whose EF Core provider the app references (or pass a database delegate: AddEFCoreBackend(db => db.UseNpgsql(...))).");
            }

            if (string.IsNullOrWhiteSpace(options.ConnectionString))
            {
                missing.Add("Sessions:EFCore:ConnectionString must be set (for example \"Data Source=sessions.db\" for SQLite).");
            }

            if (missing.Count > 0)
            {
                throw new OptionsValidationException(Options.Options.DefaultName, typeof(EFCoreSessionBackendOptions), missing);
            }

            var connectionString = options.ConnectionString!;
            var provider = options.Provider!.Value;
            try
            {
                // Check the connection string's syntax now (every provider's is key=value pairs), so that a broken one is a setting to fix.
                _ = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
            }
            catch (ArgumentException ex)
            {
                throw new OptionsValidationException(
                    Options.Options.DefaultName,
                    typeof(EFCoreSessionBackendOptions),
                    [$"Sessions:EFCore:ConnectionString is not a connection string ({ex.Message}); set a {provider} one, such as {ExampleConnectionString(provider)}."]);
            }

            Action<DbContextOptionsBuilder> database;
            try
            {
                database = ProviderLocator.Locate(provider, connectionString);
            }
            catch (InvalidOperationException ex)
            {
                throw new OptionsValidationException(Options.Options.DefaultName, typeof(EFCoreSessionBackendOptions), [ex.Message]);
            }

            return EFCoreSessionBackend.Create(database, options, services.GetService<TimeProvider>());
        });

    /// <summary>
    /// Stores sessions in a SQL table through the backend's own internal <see cref="DbContext"/>, on the database that
    /// <paramref name="configureDatabase"/> sets up (<see cref="EFCoreSessionBackendOptions.Provider"/> and
    /// <see cref="EFCoreSessionBackendOptions.ConnectionString"/> are then ignored). Options bind from <c>Sessions:EFCore</c>
    /// as with <see cref="AddEFCoreBackend(ISessionsBuilder, Action{EFCoreSessionBackendOptions}?)"/>. Create the table once
    /// with <see cref="EnsureSessionsTableAsync"/>; it is never created silently.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configureDatabase">Chooses the database with the provider the app references: <c>db =&gt; db.UseSqlite(cs)</c>, <c>db.UseNpgsql(cs)</c>, <c>db.UseMySql(cs, serverVersion)</c>, <c>db.UseSqlServer(cs)</c>.</param>
    /// <param name="configure">Sets <see cref="EFCoreSessionBackendOptions"/> (table name, schema, batch sizes) after binding; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <example><code>builder.Services.AddSessions().AddEFCoreBackend(db => db.UseNpgsql(connectionString));</code></example>
    public static ISessionsBuilder AddEFCoreBackend(this ISessionsBuilder builder, Action<DbContextOptionsBuilder> configureDatabase, Action<EFCoreSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configureDatabase);
        return builder.AddBackend<EFCoreSessionBackendOptions, EFCoreSessionBackendOptionsValidator>(BackendName, SectionName, configure, (services, options) =>
            EFCoreSessionBackend.Create(configureDatabase, options, services.GetService<TimeProvider>()));
    }

    /// <summary>
    /// Stores sessions in the table that the application's own <typeparamref name="TContext"/> maps with
    /// <c>modelBuilder.AddSessions()</c>, so the table is created by the app's migrations. Uses a registered
    /// <see cref="IDbContextFactory{TContext}"/> when there is one (<c>AddPooledDbContextFactory</c> is fastest), otherwise a
    /// service scope per operation (<c>AddDbContext</c> or <c>AddDbContextPool</c>).
    /// </summary>
    /// <typeparam name="TContext">The application's context type, registered in the container.</typeparam>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets batch sizes and retries after binding <c>Sessions:EFCore</c>; the table name comes from the model. <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddEFCoreBackend<TContext>(this ISessionsBuilder builder, Action<EFCoreSessionBackendOptions>? configure = null)
        where TContext : DbContext =>
        builder.AddBackend<EFCoreSessionBackendOptions, EFCoreSessionBackendOptionsValidator>(BackendName, SectionName, configure, static (services, options) =>
        {
            var contexts = services.GetService<IDbContextFactory<TContext>>() is { } factory
                ? ContextSources.FromFactory(factory)
                : ContextSources.FromScopes<TContext>(services.GetRequiredService<IServiceScopeFactory>());
            return new EFCoreSessionBackend(contexts, options, services.GetService<TimeProvider>());
        });

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

    private static string ExampleConnectionString(EFCoreSessionDatabase provider) => provider switch
    {
        EFCoreSessionDatabase.Sqlite => "\"Data Source=sessions.db\"",
        EFCoreSessionDatabase.MySql => "\"Server=127.0.0.1;Port=3306;User=app;Password=...;Database=app\"",
        EFCoreSessionDatabase.SqlServer => "\"Server=127.0.0.1;Database=app;User Id=app;Password=...;TrustServerCertificate=true\"",
        _ => "\"Host=127.0.0.1;Port=5432;Username=app;Password=...;Database=app\"",
    };

    /// <summary>The backend's name in <c>Sessions:Backend</c>, metrics, traces, logs and health checks.</summary>
    private const string BackendName = "efcore";

    private const string SectionName = "EFCore";
}
