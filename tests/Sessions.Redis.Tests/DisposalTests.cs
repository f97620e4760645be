using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests;

[TestFixture]
public sealed class DisposalTests
{
    [Test]
    public async Task A_container_disposed_synchronously_disposes_the_backend()
    {
        var services = new ServiceCollection();
        services.AddSessions().AddRedisBackend(o => o.Configuration = TestServers.RedisAsync().Result);
        var provider = services.BuildServiceProvider();
        var backend = provider.GetRequiredService<ISessionBackend>();
        Assert.That(await backend.GetAsync("session:disposal", CancellationToken.None), Is.Null, "a call before disposal (opens the connection)");

        Assert.That(provider.Dispose, Throws.Nothing, "Microsoft DI refuses to dispose IAsyncDisposable-only services synchronously");
        Assert.That(async () => await backend.GetAsync("session:disposal", CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public async Task Disposing_fails_calls_in_flight_at_once()
    {
        var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() });
        await backend.GetAsync("session:disposal", CancellationToken.None);

        // BLPOP holds the connection for 5 s; disposing must not wait for it.
        var blocked = backend.Client.ExecuteAsync(["BLPOP", $"disposal:{Guid.NewGuid():N}", 5], 1, CancellationToken.None).AsTask();
        await Task.Delay(50);
        backend.Dispose();

        Assert.That(async () => await blocked.WaitAsync(TimeSpan.FromSeconds(2)), Throws.InstanceOf<ObjectDisposedException>());
    }
}
