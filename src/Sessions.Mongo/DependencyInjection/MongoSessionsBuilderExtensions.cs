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
        builder.Services.AddOptions<MongoSessionBackendOptions>().PostConfigure<IServiceProvider>(static (options, services) =>
            options.GivenClient ??= string.IsNullOrWhiteSpace(options.ConnectionString) ? services.GetService<IMongoClient>() : null);
        return Register(builder, configure);
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
        ArgumentNullException.ThrowIfNull(client);
        return Register(builder, o => { o.GivenClient = client; configure?.Invoke(o); });
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
        ArgumentNullException.ThrowIfNull(database);
        return Register(builder, o => { o.GivenDatabase = database; configure?.Invoke(o); });
    }

    private static ISessionsBuilder Register(ISessionsBuilder builder, Action<MongoSessionBackendOptions>? configure) =>
        builder.AddBackend<MongoSessionBackendOptions, MongoSessionBackendOptionsValidator>(BackendName, SectionName, configure, static (services, options) =>
        {
            var time = services.GetService<TimeProvider>();
            return options.GivenDatabase is { } database ? new MongoSessionBackend(database, options, time)
                : options.GivenClient is { } client ? new MongoSessionBackend(client, options, time)
                : new MongoSessionBackend(options, time);
        });
}
