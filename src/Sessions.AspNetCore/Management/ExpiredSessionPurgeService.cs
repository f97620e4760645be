using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Backends;
using Sessions.Diagnostics;
using Sessions.Engine;

namespace Sessions.Management;

/// <summary>
/// Purges expired sessions every <see cref="SessionOptions.PurgeInterval"/>, for backends without native expiry
/// (those implementing <see cref="IExpiredSessionPurger"/>); does nothing for the others.
/// </summary>
internal sealed class ExpiredSessionPurgeService(SessionStore store, IOptions<SessionOptions> options, TimeProvider time, ILogger<ExpiredSessionPurgeService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store.Accessor.Backend is not IExpiredSessionPurger purger || options.Value.PurgeInterval is not { } interval || interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var purged = await store.Accessor.PurgeExpiredAsync(purger, stoppingToken).ConfigureAwait(false);
                    Log.Purged(logger, purged, store.BackendName);
                    await store.Lifecycle.RaisePurgedAsync(purged).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.PurgeFailed(logger, ex, store.BackendName);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutting down.
        }
    }
}
