using Microsoft.Extensions.Hosting;
using Sessions.Backends;
using Sessions.Elasticsearch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Checks (or, with <see cref="ElasticsearchSessionBackendOptions.CreateIndex"/>, creates) the sessions index when the host
/// starts, if Elasticsearch is the backend in force, so that a missing index or bad credentials stop the app with a clear
/// message instead of failing its first request.
/// </summary>
internal sealed class ElasticsearchIndexStartup(IServiceProvider services) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<SessionBackendSelection>()?.Name == ElasticsearchSessionsBuilderExtensions.BackendName)
        {
            await services.GetRequiredService<ElasticsearchSessionBackend>().EnsureIndexAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
