using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Core.Tests.Support;
using Sessions.Engine;
using Sessions.Management;
using Sessions.Memory;

namespace Sessions.Core.Tests.Management;

public sealed class ExpiredSessionPurgeServiceTests
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Purges_expired_sessions_on_the_interval()
    {
        // Expiry and the purge timer both follow the fake clock: the wait below moves it one interval at a time.
        var clock = FakeTimeProviders.StartingNow();
        var backend = new PurgerBackend(new MemorySessionBackend(timeProvider: clock));
        await using var provider = Build(backend, o => o.PurgeInterval = s_interval, clock);
        var store = provider.GetRequiredService<SessionStore>();
        var session = store.CreateNew();
        session.Set("k", [1]);
        await store.CommitAsync(session, CancellationToken.None);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.That(backend.Inner.Count, Is.EqualTo(1), "setting up: the expired record is still held");

        await RunAsync(provider, () => backend.Inner.Count == 0 && backend.Purges >= 2, clock);

        Assert.That(backend.Inner.Count, Is.Zero, "the expired record is purged");
    }

    [Test]
    public async Task A_failed_purge_is_logged_and_the_next_one_still_runs()
    {
        var backend = new PurgerBackend(new MemorySessionBackend()) { FailFirst = true };
        var logger = new ListLogger<ExpiredSessionPurgeService>();
        await using var provider = Build(backend, o => o.PurgeInterval = s_interval, logger: logger);

        await RunAsync(provider, () => backend.Purges >= 2);

        Assert.That(logger.Entries, Has.Some.Matches<(LogLevel Level, EventId EventId, string Message)>(e => e.Level == LogLevel.Error && e.Message.Contains("purging", StringComparison.OrdinalIgnoreCase)));
    }

    [Test]
    public async Task Does_nothing_when_the_purge_is_switched_off()
    {
        var backend = new PurgerBackend(new MemorySessionBackend());
        await using var provider = Build(backend, o => o.PurgeInterval = null);
        var service = PurgeService(provider);

        await service.StartAsync(CancellationToken.None);

        // A running loop never ends on its own, so this times out unless the service chose not to loop.
        await EndsOnItsOwnAsync(service, "with no interval the service ends at once");
        Assert.That(backend.Purges, Is.Zero);
        await service.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task Does_nothing_for_a_backend_that_expires_natively()
    {
        await using var provider = Build(new CountingBackend(new MemorySessionBackend()), o => o.PurgeInterval = s_interval);
        var service = PurgeService(provider);

        await service.StartAsync(CancellationToken.None);

        await EndsOnItsOwnAsync(service, "a backend without IExpiredSessionPurger needs no purge loop");
        await service.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task Stops_cleanly()
    {
        var backend = new PurgerBackend(new MemorySessionBackend());
        await using var provider = Build(backend, o => o.PurgeInterval = s_interval);
        var service = PurgeService(provider);
        await service.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow + s_patience;
        while (backend.Purges == 0)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "setting up: the loop must run");
            await Task.Delay(10);
        }

        await service.StopAsync(CancellationToken.None);

        Assert.That(service.ExecuteTask!.IsCompletedSuccessfully, Is.True, $"stopping ends the loop without an exception; it is {service.ExecuteTask.Status}");
    }

    private static ServiceProvider Build(ISessionBackend backend, Action<SessionOptions> configure, TimeProvider? clock = null, ILogger<ExpiredSessionPurgeService>? logger = null)
    {
        var services = new ServiceCollection().AddLogging();
        if (clock is not null)
        {
            services.AddSingleton(clock);
        }

        if (logger is not null)
        {
            services.AddSingleton(logger);
        }

        services.AddSessions(configure).UseBackend("purging", _ => backend);
        return services.BuildServiceProvider();
    }

    private static async Task EndsOnItsOwnAsync(BackgroundService service, string why)
    {
        Assert.That(service.ExecuteTask, Is.Not.Null);
        try
        {
            await service.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{why}, but the service is still running after 5 s.");
        }

        Assert.That(service.ExecuteTask.IsCompletedSuccessfully, Is.True, why);
    }

    private static BackgroundService PurgeService(IServiceProvider provider) =>
        provider.GetServices<IHostedService>().OfType<ExpiredSessionPurgeService>().Single();

    private static async Task RunAsync(IServiceProvider provider, Func<bool> done, FakeTimeProvider? clock = null)
    {
        var service = PurgeService(provider);
        await service.StartAsync(CancellationToken.None);
        try
        {
            var deadline = DateTime.UtcNow + s_patience;
            while (!done())
            {
                Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"the purge did not run as expected within {s_patience.TotalSeconds} s on a {s_interval.TotalMilliseconds} ms interval");
                clock?.Advance(s_interval);
                await Task.Delay(10);
            }
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    private sealed class PurgerBackend(MemorySessionBackend inner) : ForwardingBackend(inner), IExpiredSessionPurger
    {
        private int _purges;

        public MemorySessionBackend Inner { get; } = inner;

        public bool FailFirst { get; init; }

        public int Purges => Volatile.Read(ref _purges);

        public ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _purges) == 1 && FailFirst)
            {
                throw new IOException("disk unavailable");
            }

            return Inner.PurgeExpiredAsync(cancellationToken);
        }
    }
}
