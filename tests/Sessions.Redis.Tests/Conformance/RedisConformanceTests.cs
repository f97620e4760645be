using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests.Conformance;

// The conformance kit against three real servers. Each CreateBackendAsync returns a new backend with its own connection
// (the backend is disposable); all of a fixture's backends share the server, as two app servers would.

[TestFixture]
public sealed class RedisBackendConformanceTests : SessionBackendConformanceTests
{
    protected override async ValueTask<ISessionBackend> CreateBackendAsync() =>
        new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() });
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
