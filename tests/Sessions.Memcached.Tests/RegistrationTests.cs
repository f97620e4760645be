using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Memcached.Tests.Support;

namespace Sessions.Memcached.Tests;

// AddMemcachedBackend: the registration, option validation with useful messages, and the health probe.
[TestFixture]
public sealed class RegistrationTests
{
    [Test]
    public async Task AddMemcachedBackend_registers_the_backend_named_memcached()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        var services = new ServiceCollection();
        services.AddSessions().AddMemcachedBackend(o => o.Servers = servers.Servers);
        await using var provider = services.BuildServiceProvider();

        var registration = provider.GetRequiredService<SessionBackendRegistration>();
        var backend = provider.GetRequiredService<ISessionBackend>();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(registration.Name, Is.EqualTo("memcached"));
            Assert.That(backend, Is.InstanceOf<MemcachedSessionBackend>());
            Assert.That(((MemcachedSessionBackend)backend).Servers, Is.EqualTo(new[] { servers.Addresses[0] }));
        }

        await ((ISessionBackendHealthProbe)backend).ProbeAsync(CancellationToken.None);
    }

    [TestCase("", "Servers is empty")]
    [TestCase("127.0.0.1:0", "\"127.0.0.1:0\", which is not host:port")]
    [TestCase("127.0.0.1:11211,127.0.0.1:11211", "names 127.0.0.1:11211 twice")]
    [TestCase("host:port", "\"host:port\", which is not host:port")]
    public void Invalid_servers_fail_validation_with_a_message_that_says_what_to_set(string servers, string expected)
    {
        var services = new ServiceCollection();
        services.AddSessions().AddMemcachedBackend(o => o.Servers = servers);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<MemcachedSessionBackendOptions>>().Value);

        Assert.That(ex!.Message, Does.Contain(expected));
    }

    [Test]
    public void Invalid_options_passed_directly_throw_ArgumentException()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { OperationTimeout = TimeSpan.Zero, ConnectionsPerServer = 0 }));

        Assert.That(ex!.Message, Does.Contain("OperationTimeout must be positive").And.Contain("ConnectionsPerServer must be 1 to 64"));
    }

    [TestCase("cache1", "cache1:11211")]
    [TestCase("cache1:22122", "cache1:22122")]
    [TestCase("[::1]:11311", "[::1]:11311")]
    [TestCase(" 10.0.0.1:1 , 10.0.0.2:2 ", "10.0.0.1:1,10.0.0.2:2")]
    public void Server_lists_are_parsed(string servers, string expected)
    {
        using var backend = new DisposableBackend(new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = servers }));

        Assert.That(string.Join(",", backend.Value.Servers), Is.EqualTo(expected));
    }

    private sealed class DisposableBackend(MemcachedSessionBackend value) : IDisposable
    {
        public MemcachedSessionBackend Value { get; } = value;

        public void Dispose() => Value.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
