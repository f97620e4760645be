using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.Memcached.Tests.Support;

namespace Sessions.Memcached.Tests.Conformance;

// The behaviour half of the kit over HTTP, with AddMemcachedBackend registered as an application would. Memcached expires
// items by its own clock (whole seconds), so the kit runs the timeout rows in real time with a one-second resolution.

[TestFixture]
public sealed class MemcachedBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private MemcachedServers _servers = null!;

    protected override bool SupportsControllableTime => false;

    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public async Task StartServersAsync() => _servers = await MemcachedServers.StartAsync(3, itemSizeLimit: "2m");

    [OneTimeTearDown]
    public async Task StopServersAsync() => await _servers.DisposeAsync();

    protected override void AddBackend(ISessionsBuilder builder) => builder.AddMemcachedBackend(o =>
    {
        o.Servers = _servers.Servers;
        o.ItemSizeLimit = 2 * 1024 * 1024;
    });

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableItems.WriteAsync(_servers.Servers, key, cancellationToken);
}
