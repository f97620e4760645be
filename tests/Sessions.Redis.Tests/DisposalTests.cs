using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests;

[TestFixture]
public sealed class DisposalTests
{
    [Test]
    public async Task A_container_disposed_synchronously_disposes_the_backend_and_its_own_multiplexer()
    {
        var services = new ServiceCollection();
        var configuration = await TestServers.RedisAsync();
        services.AddSessions().AddRedisBackend(o => o.Configuration = configuration);
        var provider = services.BuildServiceProvider();
        var backend = (RedisSessionBackend)provider.GetRequiredService<ISessionBackend>();
        Assert.That(await backend.GetAsync("session:disposal", CancellationToken.None), Is.Null, "a call before disposal (opens the connection)");
        var multiplexer = backend.Multiplexer!;

        Assert.That(provider.Dispose, Throws.Nothing, "Microsoft DI refuses to dispose IAsyncDisposable-only services synchronously");
        Assert.That(async () => await backend.GetAsync("session:disposal", CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(multiplexer.IsConnected, Is.False, "the multiplexer the backend opened itself is closed with it");
    }
}
