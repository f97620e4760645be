using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;
using Sessions.Engine;

namespace Sessions.Core.Tests.Engine;

/// <summary>The engine's work that outlives a request (a regenerate watching for a late tombstone) is owned by the host: stopping it cancels and awaits that work.</summary>
public sealed class BackgroundWorkTests
{
    [Test]
    public async Task Stopping_cancels_the_running_work_and_waits_until_it_has_ended()
    {
        var work = new BackgroundWork();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ended = false;
        Assert.That(work.Start(async stopping =>
        {
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, stopping);
            }
            finally
            {
                await Task.Delay(50, CancellationToken.None); // clean-up that StopAsync must wait for
                ended = true;
            }
        }), Is.True);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await work.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ended, Is.True, "StopAsync returns only once the work has ended");
            Assert.That(work.Count, Is.Zero);
        }
    }

    [Test]
    public async Task Work_is_not_started_once_the_host_is_stopping()
    {
        var work = new BackgroundWork();
        await work.StopAsync(CancellationToken.None);
        var ran = false;

        var started = work.Start(_ => { ran = true; return Task.CompletedTask; });

        await Task.Delay(50);
        Assert.That((started, ran), Is.EqualTo((false, false)));
    }

    [Test]
    public async Task The_engine_registers_its_background_work_with_the_host()
    {
        await using var provider = new ServiceCollection().AddLogging().AddSessions().AddMemoryBackend().Services.BuildServiceProvider();

        var hosted = provider.GetServices<IHostedService>().OfType<BackgroundWork>().ToList();

        Assert.That(hosted, Is.EqualTo(new[] { provider.GetRequiredService<SessionStore>().BackgroundWork }), "exactly one, the engine's own");
    }
}
