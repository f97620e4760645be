using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Memcached.Tests;

/// <summary>AddMemcachedBackend binds Sessions:Memcached from the section given to AddSessions; code runs after it.</summary>
[TestFixture]
public sealed class ConfigurationTests
{
    [Test]
    public void Sessions_Memcached_binds_without_code_and_a_delegate_runs_after()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sessions:Memcached:Servers"] = "cache1:11311,cache2:11311",
            ["Sessions:Memcached:ConnectionsPerServer"] = "3",
        }).Build();
        var services = new ServiceCollection();
        services.AddSessions(configuration.GetSection("Sessions")).AddMemcachedBackend(o => o.ConnectionsPerServer++);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<MemcachedSessionBackendOptions>>().Value;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.Servers, Is.EqualTo("cache1:11311,cache2:11311"));
            Assert.That(options.ConnectionsPerServer, Is.EqualTo(4), "bound 3, then the delegate added 1");
            Assert.That(provider.GetRequiredService<SessionBackendRegistration>().Name, Is.EqualTo("memcached"));
        }
    }

    [Test]
    public void Invalid_bound_servers_fail_with_the_setting_named()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sessions:Memcached:Servers"] = "",
        }).Build();
        var services = new ServiceCollection();
        services.AddSessions(configuration.GetSection("Sessions")).AddMemcachedBackend();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<MemcachedSessionBackendOptions>>().Value);

        Assert.That(ex!.Message, Does.Contain("Servers is empty"));
    }
}
