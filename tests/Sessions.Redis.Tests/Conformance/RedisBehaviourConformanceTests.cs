using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.Redis.Tests.Support;

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
