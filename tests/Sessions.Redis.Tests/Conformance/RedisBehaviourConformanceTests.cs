using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.Redis.Tests.Support;
using StackExchange.Redis;

namespace Sessions.Redis.Tests.Conformance;

// The behaviour half of the kit over HTTP, with AddRedisBackend registered as an application would. Redis expires keys
// by its own clock, so the kit runs the timeout rows in real time. Each test gets its own KeyPrefix: the kit's tests reuse
// user IDs ("ana"), so user indexes of different tests would otherwise meet in the shared server.

internal static class TestPrefix
{
    public static string ForCurrentTest() => $"t{TestContext.CurrentContext.Test.ID.GetHashCode():x8}{Guid.NewGuid():N}"[..24] + ":";
}

[TestFixture]
public sealed class RedisBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private string _configuration = null!;

    protected override bool SupportsControllableTime => false;

    [OneTimeSetUp]
    public async Task StartServerAsync() => _configuration = await TestServers.RedisAsync();

    protected override void AddBackend(ISessionsBuilder builder) => builder.AddRedisBackend(o =>
    {
        o.Configuration = _configuration;
        o.KeyPrefix = TestPrefix.ForCurrentTest();
    });
}

[TestFixture]
public sealed class GarnetBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private string _configuration = null!;

    protected override bool SupportsControllableTime => false;

    [OneTimeSetUp]
    public async Task StartServerAsync() => _configuration = await TestServers.GarnetAsync();

    protected override void AddBackend(ISessionsBuilder builder) => builder.AddRedisBackend(o =>
    {
        o.Configuration = _configuration;
        o.KeyPrefix = TestPrefix.ForCurrentTest();
    });
}

[TestFixture]
public sealed class RedisClusterBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private string _configuration = null!;

    protected override bool SupportsControllableTime => false;

    [OneTimeSetUp]
    public async Task StartServerAsync() => _configuration = await TestServers.ClusterAsync();

    protected override void AddBackend(ISessionsBuilder builder) => builder.AddRedisBackend(o =>
    {
        o.Configuration = _configuration;
        o.KeyPrefix = TestPrefix.ForCurrentTest();
    });
}

/// <summary>
/// The behaviour table with the backend on the application's own multiplexer, taken from DI (as Aspire's
/// <c>AddRedisClient</c> registers it) and shared with an <see cref="IDistributedCache"/> from
/// Microsoft.Extensions.Caching.StackExchangeRedis: each test also round-trips a cache entry over the same multiplexer.
/// </summary>
[TestFixture]
public sealed class SharedMultiplexerBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private ConnectionMultiplexer _multiplexer = null!;
    private IDistributedCache? _cache;

    protected override bool SupportsControllableTime => false;

    [OneTimeSetUp]
    public async Task ConnectAsync() => _multiplexer = await SharedMultiplexers.RedisAsync();

    [TearDown]
    public async Task TheCacheOnTheSameMultiplexerStillWorksAsync()
    {
        // Not disposed: RedisCache disposes the multiplexer its factory returned (unlike this backend), and this one is shared.
        var cache = _cache ??= new RedisCache(Options.Create(new RedisCacheOptions
        {
            ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(_multiplexer),
        }));
        var key = $"cache:{Guid.NewGuid():N}";
        await cache.SetStringAsync(key, "cached");
        Assert.That(await cache.GetStringAsync(key), Is.EqualTo("cached"), "an IDistributedCache on the multiplexer the sessions backend uses");
        await cache.RemoveAsync(key);
        Assert.That(_multiplexer.IsConnected, Is.True, "the app's multiplexer, shared with the sessions backend");
    }

    protected override void AddBackend(ISessionsBuilder builder)
    {
        builder.Services.AddSingleton<IConnectionMultiplexer>(_multiplexer);
        builder.AddRedisBackend(o => o.KeyPrefix = TestPrefix.ForCurrentTest());
    }
}
