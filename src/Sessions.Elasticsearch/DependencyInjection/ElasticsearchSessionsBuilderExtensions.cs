using Elastic.Clients.Elasticsearch;
using Sessions.Elasticsearch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="ElasticsearchSessionBackend"/> as a session backend named <c>elasticsearch</c>.</summary>
public static class ElasticsearchSessionsBuilderExtensions
{
    /// <summary>The backend's name, for <c>Sessions:Backend</c>, metrics, traces, logs and health checks: <c>elasticsearch</c>.</summary>
    public const string BackendName = "elasticsearch";

    /// <summary>The configuration section the options bind from, under the sessions section: <c>Elasticsearch</c> (so <c>Sessions:Elasticsearch</c>).</summary>
    public const string SectionName = "Elasticsearch";

    /// <summary>
    /// Stores sessions in an Elasticsearch index (backend name <c>elasticsearch</c>). Options bind from
    /// <c>Sessions:Elasticsearch</c> when sessions were added with a configuration section, then <paramref name="configure"/>
    /// runs. The backend builds its own client from <see cref="ElasticsearchSessionBackendOptions.Url"/> and the credentials;
    /// without a URL it uses the <see cref="ElasticsearchClient"/> registered in the container. When this backend is the one
    /// selected, the options are validated and the index checked (or created, with
    /// <see cref="ElasticsearchSessionBackendOptions.CreateIndex"/>) when the app starts.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="ElasticsearchSessionBackendOptions"/>; <see langword="null"/> to rely on configuration.</param>
    /// <returns>The builder.</returns>
    /// <example><code>
    /// builder.Services.AddSessions().AddElasticsearchBackend(o =&gt; { o.Url = "http://127.0.0.1:9200"; o.CreateIndex = true; });
    /// </code></example>
    public static ISessionsBuilder AddElasticsearchBackend(this ISessionsBuilder builder, Action<ElasticsearchSessionBackendOptions>? configure = null) =>
        Register(builder, configure, null);

    /// <summary>Stores sessions in an Elasticsearch index reached through <paramref name="client"/>, which the application owns. The URL and credential options are ignored.</summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="client">The client to use.</param>
    /// <param name="configure">Sets the index and the other options.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddElasticsearchBackend(this ISessionsBuilder builder, ElasticsearchClient client, Action<ElasticsearchSessionBackendOptions>? configure = null) =>
        Register(builder, configure, client ?? throw new ArgumentNullException(nameof(client)));

    // The client handed over, else one registered in the container when no URL is set, is kept on the options (not bound
    // from configuration), so that the validator and the factory read the options alone.
    private static ISessionsBuilder Register(ISessionsBuilder builder, Action<ElasticsearchSessionBackendOptions>? configure, ElasticsearchClient? client)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ElasticsearchSessionBackendOptions>().PostConfigure<IServiceProvider>((options, services) =>
            options.GivenClient = client ?? (string.IsNullOrWhiteSpace(options.Url) ? services.GetService<ElasticsearchClient>() : null));
        return builder.AddBackend<ElasticsearchSessionBackendOptions, ElasticsearchSessionBackendOptionsValidator>(BackendName, SectionName, configure, static (services, options) =>
            options.GivenClient is { } given
                ? new ElasticsearchSessionBackend(given, options, services.GetService<TimeProvider>())
                : new ElasticsearchSessionBackend(options, services.GetService<TimeProvider>()));
    }
}
