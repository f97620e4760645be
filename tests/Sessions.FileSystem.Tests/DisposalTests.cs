using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>Disposal beyond the kit's checks: the capabilities fail too, and a container disposed synchronously copes.</summary>
public sealed class DisposalTests : FileSystemBackendTestBase
{
    [Test]
    public async Task Enumeration_and_purge_throw_ObjectDisposedException_after_disposal()
    {
        var backend = NewBackend();
        await backend.SetAsync("session:d", Record("x", InAnHour), SetCondition.Always, default);

        await backend.DisposeAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(async () => await ToListAsync(backend.EnumerateKeysAsync("", default)), Throws.InstanceOf<ObjectDisposedException>());
            Assert.That(async () => await backend.PurgeExpiredAsync(default), Throws.InstanceOf<ObjectDisposedException>());
        }
    }

    [Test]
    public void A_container_disposed_synchronously_disposes_the_backend()
    {
        var services = new ServiceCollection();
        var root = FixtureDirectory.NewSubdirectoryPath();
        services.AddSingleton(_ => new FileSystemSessionBackend(new FileSystemSessionBackendOptions { Directory = root }));
        var provider = services.BuildServiceProvider();
        var backend = provider.GetRequiredService<FileSystemSessionBackend>();

        Assert.That(provider.Dispose, Throws.Nothing, "Microsoft DI refuses to dispose IAsyncDisposable-only services synchronously");
        Assert.That(async () => await backend.GetAsync("session:d", default), Throws.InstanceOf<ObjectDisposedException>());
    }
}
