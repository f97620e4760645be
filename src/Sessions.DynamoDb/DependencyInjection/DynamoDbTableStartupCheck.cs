using Microsoft.Extensions.Hosting;
using Sessions.Backends;
using Sessions.DynamoDb;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Checks (or creates) the sessions table when the host starts, so that a missing or wrongly shaped table stops the app
/// with a clear message instead of failing its first request. Does nothing when another backend replaced DynamoDB.
/// </summary>
internal sealed class DynamoDbTableStartupCheck(IServiceProvider services) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<SessionBackendSelection>()?.Name == DynamoDbSessionsBuilderExtensions.BackendName)
        {
            await services.GetRequiredService<DynamoDbSessionBackend>().EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
