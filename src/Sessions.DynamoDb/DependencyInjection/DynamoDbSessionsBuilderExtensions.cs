using Amazon.DynamoDBv2;
using Microsoft.Extensions.Logging;
using Sessions.DynamoDb;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="DynamoDbSessionBackend"/> as the session backend.</summary>
public static class DynamoDbSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions in a DynamoDB table (backend name <c>dynamodb</c>). Uses the <see cref="IAmazonDynamoDB"/> registered in
    /// the container when there is one; otherwise builds a client from <see cref="DynamoDbSessionBackendOptions.ServiceUrl"/>
    /// and <see cref="DynamoDbSessionBackendOptions.Region"/>. The options bind from <c>Sessions:DynamoDb</c>
    /// (<c>Sessions:DynamoDb:Table</c>, <c>:ServiceUrl</c>, <c>:Region</c>, <c>:CreateTable</c>) when sessions were added with
    /// <c>AddSessions(IConfiguration)</c>; then <paramref name="configure"/> runs. They are validated, and the table checked
    /// (or created, with <see cref="DynamoDbSessionBackendOptions.CreateTable"/>), when the app starts with this backend selected.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="DynamoDbSessionBackendOptions"/> after binding; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <example><code>
    /// builder.Services.AddSessions().AddDynamoDbBackend(o =&gt; { o.Table = "sessions"; o.Region = "eu-west-1"; });
    /// // local endpoint, table created on start-up:
    /// builder.Services.AddSessions().AddDynamoDbBackend(o =&gt; { o.ServiceUrl = "http://127.0.0.1:8000"; o.CreateTable = true; });
    /// // from configuration (Sessions:DynamoDb:Table, :ServiceUrl, :Region, :CreateTable):
    /// builder.Services.AddSessions(builder.Configuration.GetSection("Sessions")).AddDynamoDbBackend();
    /// </code></example>
    public static ISessionsBuilder AddDynamoDbBackend(this ISessionsBuilder builder, Action<DynamoDbSessionBackendOptions>? configure = null) =>
        builder.AddBackend<DynamoDbSessionBackendOptions, DynamoDbSessionBackendOptionsValidator>("dynamodb", "DynamoDb", configure, static (services, options) =>
        {
            var time = services.GetService<TimeProvider>();
            var logger = services.GetService<ILogger<DynamoDbSessionBackend>>();
            return services.GetService<IAmazonDynamoDB>() is { } client
                ? new DynamoDbSessionBackend(client, options, time, logger)
                : new DynamoDbSessionBackend(options, time, logger);
        });
}
