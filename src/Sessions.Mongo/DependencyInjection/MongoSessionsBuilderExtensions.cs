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
    public static ISessionsBuilder AddMongoBackend(this ISessionsBuilder builder, Action<MongoSessionBackendOptions>? configure = null) =>
        Register(builder, configure, null, null);

    /// <summary>
    /// Stores sessions in a MongoDB collection reached through <paramref name="client"/>, which the application owns: the
    /// backend never disposes it. <see cref="MongoSessionBackendOptions.ConnectionString"/> is ignored, except for the
    /// database name it may carry.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="client">The client to use.</param>
    /// <param name="configure">Sets the database, the collection and the other options.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddMongoBackend(this ISessionsBuilder builder, IMongoClient client, Action<MongoSessionBackendOptions>? configure = null) =>
        Register(builder, configure, client ?? throw new ArgumentNullException(nameof(client)), null);

    /// <summary>
    /// Stores sessions in a collection of <paramref name="database"/>, which the application owns. The connection string and
    /// database options are ignored.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="database">The database that holds the sessions collection.</param>
    /// <param name="configure">Sets the collection and the other options.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddMongoBackend(this ISessionsBuilder builder, IMongoDatabase database, Action<MongoSessionBackendOptions>? configure = null) =>
        Register(builder, configure, null, database ?? throw new ArgumentNullException(nameof(database)));

    // What the app hands over is kept on the options (not bound from configuration); without it, a client registered in the
    // container stands in for a missing connection string. The validator and the factory then read the options alone.
    private static ISessionsBuilder Register(ISessionsBuilder builder, Action<MongoSessionBackendOptions>? configure, IMongoClient? client, IMongoDatabase? database)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<MongoSessionBackendOptions>().PostConfigure<IServiceProvider>((options, services) =>
        {
            (options.GivenClient, options.GivenDatabase) = (client, database);
            options.GivenClient ??= database is null && string.IsNullOrWhiteSpace(options.ConnectionString) ? services.GetService<IMongoClient>() : null;
        });
        return builder.AddBackend<MongoSessionBackendOptions, MongoSessionBackendOptionsValidator>(BackendName, SectionName, configure, static (services, options) =>
            options.GivenDatabase is { } database ? new MongoSessionBackend(database, options, services.GetService<TimeProvider>())
            : options.GivenClient is { } client ? new MongoSessionBackend(client, options, services.GetService<TimeProvider>())
            : new MongoSessionBackend(options, services.GetService<TimeProvider>()));
    }
}
