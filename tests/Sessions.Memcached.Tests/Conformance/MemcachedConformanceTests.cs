using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Memcached.Tests.Support;

namespace Sessions.Memcached.Tests.Conformance;

// The kit against real memcached servers: one server, and a consistent-hashed pool of three. Each fixture starts its own
// servers with a 2 MB item size limit (-I 2m), because the kit stores a 1 MiB payload and memcached's default limit is 1 MB.
// Each CreateBackendAsync returns a new backend (with its own connections) over the same servers, as two app servers would.

[TestFixture]
public sealed class MemcachedSingleServerConformanceTests : SessionBackendConformanceTests
{
    private MemcachedServers _servers = null!;

    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public async Task StartServerAsync() => _servers = await MemcachedServers.StartAsync(1, itemSizeLimit: "2m");

    [OneTimeTearDown]
    public async Task StopServerAsync() => await _servers.DisposeAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() =>
        new(new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = _servers.Servers, ItemSizeLimit = 2 * 1024 * 1024 }));

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableItems.WriteAsync(_servers.Servers, key, cancellationToken);

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) =>
        new(new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = _servers.Servers, ItemSizeLimit = 2 * 1024 * 1024 }, timeProvider));
}

[TestFixture]
public sealed class MemcachedPoolOfThreeConformanceTests : SessionBackendConformanceTests
{
    private MemcachedServers _servers = null!;

    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public async Task StartServersAsync() => _servers = await MemcachedServers.StartAsync(3, itemSizeLimit: "2m");

    [OneTimeTearDown]
    public async Task StopServersAsync() => await _servers.DisposeAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() =>
        new(new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = _servers.Servers, ItemSizeLimit = 2 * 1024 * 1024 }));

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableItems.WriteAsync(_servers.Servers, key, cancellationToken);

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) =>
        new(new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = _servers.Servers, ItemSizeLimit = 2 * 1024 * 1024 }, timeProvider));
}

[TestFixture]
public sealed class MemcachedHealthProbeConformanceTests : SessionBackendHealthProbeConformanceTests
{
    private MemcachedServers _servers = null!;

    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public async Task StartServersAsync() => _servers = await MemcachedServers.StartAsync(2);

    [OneTimeTearDown]
    public async Task StopServersAsync() => await _servers.DisposeAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() =>
        new(new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = _servers.Servers }));

    // One live server and one loopback port nothing listens on: the probe pings every server, so it must fail.
    protected override ValueTask<ISessionBackend> CreateUnreachableBackendAsync() =>
        new(new MemcachedSessionBackend(new MemcachedSessionBackendOptions
        {
            Servers = $"{_servers.Addresses[0]},127.0.0.1:{ServerProcess.FreeLoopbackPort()}",
            ConnectTimeout = TimeSpan.FromSeconds(1),
            OperationTimeout = TimeSpan.FromSeconds(1),
        }));
}

[TestFixture]
public sealed class MemcachedConformanceCompletenessTests : ConformanceCompletenessTests
{
    protected override IReadOnlyDictionary<Type, string> ExcusedFixtures { get; } = new Dictionary<Type, string>
    {
        [typeof(SessionKeyEnumeratorConformanceTests)] =
            "memcached cannot list its keys (no SCAN; lru_crawler metadump is a debugging aid, unordered and per server), so the backend does not implement ISessionKeyEnumerator",
        [typeof(ExpiredSessionPurgerConformanceTests)] =
            "memcached expires items natively through their TTL, so the backend does not implement IExpiredSessionPurger",
    };
}
