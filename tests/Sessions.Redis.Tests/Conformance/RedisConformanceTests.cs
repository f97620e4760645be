using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests.Conformance;

// The conformance kit against three real servers (RESP3, as negotiated by default; and once more in RESP2 on redis-server). Each CreateBackendAsync returns a new backend with its own connection
// (the backend is disposable); all of a fixture's backends share the server, as two app servers would.

[TestFixture]
public sealed class RedisBackendConformanceTests : SessionBackendConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() });
}

// The same kit with the connection held in RESP2 (every other fixture negotiates RESP3): both protocols stay covered.
[TestFixture]
public sealed class RedisResp2BackendConformanceTests : SessionBackendConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() + ",protocol=resp2" });
}

[TestFixture]
public sealed class RedisKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() });
}

[TestFixture]
public sealed class GarnetBackendConformanceTests : SessionBackendConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.GarnetAsync() });
}

[TestFixture]
public sealed class GarnetKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.GarnetAsync() });
}

[TestFixture]
public sealed class RedisClusterBackendConformanceTests : SessionBackendConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.ClusterAsync() });
}

[TestFixture]
public sealed class RedisClusterKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.ClusterAsync() });
}

[TestFixture]
public sealed class RedisConformanceCompletenessTests : ConformanceCompletenessTests
{
    protected override IReadOnlyDictionary<Type, string> ExcusedFixtures { get; } = new Dictionary<Type, string>
    {
        [typeof(ExpiredSessionPurgerConformanceTests)] = "Redis, Garnet and Redis Cluster expire keys natively (PX); there is nothing to purge.",
    };
}
