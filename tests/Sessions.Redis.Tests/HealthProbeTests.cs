using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests;

/// <summary>The health probe sends <c>PING</c> to every primary, and names the server when one does not answer.</summary>
[TestFixture]
public sealed class HealthProbeTests
{
    [TestCase("redis")]
    [TestCase("garnet")]
    [TestCase("cluster")]
    public async Task The_probe_succeeds_against_a_running_server(string server)
    {
        var configuration = server switch
        {
            "redis" => await TestServers.RedisAsync(),
            "garnet" => await TestServers.GarnetAsync(),
            _ => await TestServers.ClusterAsync(),
        };
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = configuration });

        Assert.That(async () => await ((ISessionBackendHealthProbe)backend).ProbeAsync(CancellationToken.None), Throws.Nothing);
        Assert.That(backend.Multiplexer!.GetServers().Count(s => !s.IsReplica), Is.EqualTo(server == "cluster" ? 3 : 1), "the primaries it pinged");
    }

    [Test]
    public async Task The_probe_fails_with_the_endpoint_and_setting_when_Redis_is_down()
    {
        var port = RedisServerProcess.FreePort();
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = $"127.0.0.1:{port}" });

        var error = Assert.ThrowsAsync<RedisSessionBackendException>(async () => await backend.ProbeAsync(CancellationToken.None));

        Assert.That(error!.Message, Does.Contain($"127.0.0.1:{port}").And.Contain("Sessions:Redis:Configuration"));
    }
}
