using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Memcached;
using Sessions.Memcached.Tests.Support;
using Sessions.StoreMigration.Tests;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests.Migration;

/// <summary>
/// The behaviour table over HTTP on the migrating backend from a memcached server (started here) to Redis. Both expire
/// records by their own clocks, so the timeout rows run in real time.
/// </summary>
[TestFixture]
public sealed class MemcachedToRedisBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _prefixes = new();
    private MemcachedProcess _memcached = null!;
    private string _redis = null!;

    protected override bool SupportsControllableTime => false;

    // Memcached's expiry is in whole seconds.
    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public async Task StartServersAsync()
    {
        _memcached = await MemcachedProcess.StartAsync();
        _redis = await TestServers.RedisAsync();
    }

    [OneTimeTearDown]
    public async Task StopServersAsync() => await _memcached.DisposeAsync();

    protected override void AddBackend(ISessionsBuilder builder)
    {
        var memcached = _memcached.Address;
        var redis = _redis;

        // One prefix per test, shared by the test's apps (so two app servers meet on one store), apart from other tests'.
        var prefix = _prefixes.GetOrAdd(TestContext.CurrentContext.Test.ID, _ => $"t{Guid.NewGuid():N}"[..17] + ":");
        builder.AddMemcachedBackend(o => o.Servers = memcached)
            .AddRedisBackend(o =>
            {
                o.Configuration = redis;
                o.KeyPrefix = prefix;
            })
            .AddMigratingBackend("memcached", "redis");

        // A call through the migrating backend may take several store round trips, on two cold connections for an app's
        // first request (the kit's wrapper hides the probe that warms them at start-up): as the README advises, a longer
        // Sessions:OperationTimeout than the 1 s default. Registered first, so that a test's own setting still wins.
        builder.Services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<SessionOptions>>(
            new ConfigureOptions<SessionOptions>(o => o.OperationTimeout = TimeSpan.FromSeconds(5))));
    }
}

/// <summary>Moving from memcached to Redis, both servers started by the test run.</summary>
[TestFixture]
public sealed class MemcachedToRedisMigrationTests : MigrationScenarioTests
{
    private MemcachedProcess _memcached = null!;
    private string _redis = null!;
    private readonly string _prefix = $"mig{Guid.NewGuid():N}"[..16] + ":";

    protected override string FromName => "memcached";

    protected override string ToName => "redis";

    [OneTimeSetUp]
    public async Task StartServersAsync()
    {
        _memcached = await MemcachedProcess.StartAsync();
        _redis = await TestServers.RedisAsync();
    }

    [OneTimeTearDown]
    public async Task StopServersAsync() => await _memcached.DisposeAsync();

    protected override ValueTask<ISessionBackend> CreateFromAsync() =>
        new(new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = _memcached.Address }));

    protected override ValueTask<ISessionBackend> CreateToAsync() =>
        new(new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = _redis, KeyPrefix = _prefix }));

    protected override void AddFrom(ISessionsBuilder builder)
    {
        var memcached = _memcached.Address;
        builder.AddMemcachedBackend(o => o.Servers = memcached);
    }

    protected override void AddTo(ISessionsBuilder builder)
    {
        var redis = _redis;
        var prefix = _prefix;
        builder.AddRedisBackend(o =>
        {
            o.Configuration = redis;
            o.KeyPrefix = prefix;
        });
    }
}
