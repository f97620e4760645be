using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Sessions.Backends;
using Sessions.Mongo;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Creates the TTL index when the host starts, only when <see cref="MongoSessionBackendOptions.CreateIndexes"/> is set and
/// MongoDB is the backend in force, so that a missing privilege stops the app with a clear message.
/// </summary>
internal sealed class MongoIndexStartup(IServiceProvider services) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<SessionBackendSelection>()?.Name == MongoSessionsBuilderExtensions.BackendName
            && services.GetRequiredService<IOptions<MongoSessionBackendOptions>>().Value.CreateIndexes)
        {
            await services.GetRequiredService<MongoSessionBackend>().EnsureIndexesAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
