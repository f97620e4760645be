using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests.Conformance;

// The conformance kit against three real servers. The redis-server fixtures give each backend its own multiplexer from a
// configuration string (the path an app takes with Sessions:Redis:Configuration); the Garnet and cluster fixtures build
// backends on one multiplexer the fixture owns (the DI-shared path). All of a fixture's backends see one store, as two app
// servers would. Unreadable records are planted with a plain SET on the shared multiplexer, bypassing the backend.

[TestFixture]
public sealed class RedisBackendConformanceTests : SessionBackendConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() });

    protected override async ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        await (await SharedMultiplexers.RedisAsync()).GetDatabase().StringSetAsync(key, "not a session record");
}

[TestFixture]
public sealed class RedisKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() });

    protected override async ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        await (await SharedMultiplexers.RedisAsync()).GetDatabase().StringSetAsync(key, "not a session record");
}

[TestFixture]
public sealed class GarnetBackendConformanceTests : SessionBackendConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() => new RedisSessionBackend(await SharedMultiplexers.GarnetAsync());

    protected override async ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        await (await SharedMultiplexers.GarnetAsync()).GetDatabase().StringSetAsync(key, "not a session record");
}

[TestFixture]
public sealed class GarnetKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() => new RedisSessionBackend(await SharedMultiplexers.GarnetAsync());

    protected override async ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        await (await SharedMultiplexers.GarnetAsync()).GetDatabase().StringSetAsync(key, "not a session record");
}

[TestFixture]
public sealed class RedisClusterBackendConformanceTests : SessionBackendConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() => new RedisSessionBackend(await SharedMultiplexers.ClusterAsync());

    protected override async ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        await (await SharedMultiplexers.ClusterAsync()).GetDatabase().StringSetAsync(key, "not a session record");
}

[TestFixture]
public sealed class RedisClusterKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() => new RedisSessionBackend(await SharedMultiplexers.ClusterAsync());

    protected override async ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        await (await SharedMultiplexers.ClusterAsync()).GetDatabase().StringSetAsync(key, "not a session record");
}

[TestFixture]
public sealed class RedisConformanceCompletenessTests : ConformanceCompletenessTests
{
    protected override IReadOnlyDictionary<Type, string> ExcusedFixtures { get; } = new Dictionary<Type, string>
    {
        [typeof(ExpiredSessionPurgerConformanceTests)] = "Redis, Garnet and Redis Cluster expire keys natively (PXAT/PEXPIREAT); there is nothing to purge.",
    };
}

[TestFixture]
public sealed class RedisHealthProbeConformanceTests : SessionBackendHealthProbeConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() });

    // A loopback port nothing listens on: the multiplexer opens without failing (abortConnect=false), the probe's PING must fail.
    protected override ValueTask<ISessionBackend> CreateUnreachableBackendAsync() =>
        new(new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = $"127.0.0.1:{ServerProcess.FreeLoopbackPort()}" }));
}
