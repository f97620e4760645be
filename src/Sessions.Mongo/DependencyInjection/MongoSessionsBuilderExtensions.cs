using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MongoDB.Driver;
using Sessions.Mongo;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="MongoSessionBackend"/> as a session backend named <c>mongo</c>.</summary>
public static class MongoSessionsBuilderExtensions
{
    /// <summary>The backend's name, for <c>Sessions:Backend</c>, metrics, traces, logs and health checks: <c>mongo</c>.</summary>
    public const string BackendName = "mongo";

    /// <summary>The configuration section the options bind from, under the sessions section: <c>Mongo</c> (so <c>Sessions:Mongo</c>).</summary>
    public const string SectionName = "Mongo";

    /// <summary>
    /// Stores sessions in a MongoDB collection (backend name <c>mongo</c>). Options bind from <c>Sessions:Mongo</c> when
    /// sessions were added with a configuration section, then <paramref name="configure"/> runs. The backend builds its own
    /// client from <see cref="MongoSessionBackendOptions.ConnectionString"/>; without one it uses the <see cref="IMongoClient"/>
    /// registered in the container (and never disposes it). The options are validated when the app starts, if this backend is
    /// the one selected.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="MongoSessionBackendOptions"/>; <see langword="null"/> to rely on configuration.</param>
    /// <returns>The builder.</returns>
    /// <example><code>
    /// builder.Services.AddSessions().AddMongoBackend(o =&gt; { o.ConnectionString = "mongodb://127.0.0.1:27017"; o.Database = "app"; });
    /// </code></example>
    public static ISessionsBuilder AddMongoBackend(this ISessionsBuilder builder, Action<MongoSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return Register(builder, configure, Store.FromOptionsOrContainer, static (services, options, time) =>
            !string.IsNullOrWhiteSpace(options.ConnectionString) || services.GetService<IMongoClient>() is not { } client
                ? new MongoSessionBackend(options, time)
                : new MongoSessionBackend(client, options, time));
    }

    /// <summary>
    /// Stores sessions in a MongoDB collection reached through <paramref name="client"/>, which the application owns: the
    /// backend never disposes it. <see cref="MongoSessionBackendOptions.ConnectionString"/> is ignored, except for the
    /// database name it may carry.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="client">The client to use.</param>
    /// <param name="configure">Sets the database, the collection and the other options.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddMongoBackend(this ISessionsBuilder builder, IMongoClient client, Action<MongoSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(client);
        return Register(builder, configure, Store.Client, (_, options, time) => new MongoSessionBackend(client, options, time));
    }

    /// <summary>
    /// Stores sessions in a collection of <paramref name="database"/>, which the application owns. The connection string and
    /// database options are ignored.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="database">The database that holds the sessions collection.</param>
    /// <param name="configure">Sets the collection and the other options.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddMongoBackend(this ISessionsBuilder builder, IMongoDatabase database, Action<MongoSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(database);
        return Register(builder, configure, Store.Database, (_, options, time) => new MongoSessionBackend(database, options, time));
    }

    private static ISessionsBuilder Register(
        ISessionsBuilder builder,
        Action<MongoSessionBackendOptions>? configure,
        Store store,
        Func<IServiceProvider, MongoSessionBackendOptions, TimeProvider?, MongoSessionBackend> create)
    {
        builder.AddBackendOptions(SectionName, configure);
        builder.Services.RemoveAll<IValidateOptions<MongoSessionBackendOptions>>();
        builder.Services.AddSingleton<IValidateOptions<MongoSessionBackendOptions>>(
            services => new MongoSessionBackendOptionsValidator(store, services.GetService<IServiceProviderIsService>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MongoIndexStartup>());

        // A singleton of its own type too, so that the start-up index step finds it even when the kit or a decorator wraps
        // the ISessionBackend the container hands out.
        builder.Services.RemoveAll<MongoSessionBackend>();
        builder.Services.AddSingleton(services => create(
            services,
            services.GetRequiredService<IOptions<MongoSessionBackendOptions>>().Value,
            services.GetService<TimeProvider>()));
        return builder.UseBackend(BackendName, static services => services.GetRequiredService<MongoSessionBackend>());
    }

    /// <summary>Where the backend's client comes from, which decides the settings it needs.</summary>
    internal enum Store
    {
        /// <summary>The connection string, else the <see cref="IMongoClient"/> in the container.</summary>
        FromOptionsOrContainer,

        /// <summary>A client handed to <c>AddMongoBackend</c>.</summary>
        Client,

        /// <summary>A database handed to <c>AddMongoBackend</c>.</summary>
        Database,
    }
}
