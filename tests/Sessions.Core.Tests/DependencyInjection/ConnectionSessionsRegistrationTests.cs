using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.AspNetCore;

namespace Sessions.Core.Tests.DependencyInjection;

/// <summary><c>AddConnectionSessions()</c>: what it registers, its options from configuration, and their validation.</summary>
[TestFixture]
public sealed class ConnectionSessionsRegistrationTests
{
    [Test]
    public void Options_bind_from_Sessions_Connections()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sessions:Connections:KeepAliveInterval"] = "00:02:00",
            ["Sessions:Connections:EndConnectionWhenSessionEnds"] = "true",
        }).Build();
        using var services = Build(s => s.AddSessions(configuration.GetSection("Sessions")).AddMemoryBackend().AddConnectionSessions());

        var options = services.GetRequiredService<IOptions<ConnectionSessionOptions>>().Value;

        Assert.That(options.KeepAliveInterval, Is.EqualTo(TimeSpan.FromMinutes(2)));
        Assert.That(options.EndConnectionWhenSessionEnds, Is.True);
    }

    [Test]
    public void A_negative_keep_alive_interval_is_refused_naming_the_setting()
    {
        using var services = Build(s => s.AddSessions().AddMemoryBackend().AddConnectionSessions(o => o.KeepAliveInterval = TimeSpan.FromSeconds(-1)));

        var refused = Assert.Throws<OptionsValidationException>(() => _ = services.GetRequiredService<IOptions<ConnectionSessionOptions>>().Value);

        Assert.That(refused!.Message, Does.Contain("Sessions:Connections:KeepAliveInterval"));
    }

    [Test]
    public void Calling_it_twice_registers_the_hub_filter_and_the_circuit_handler_once()
    {
        var collection = new ServiceCollection();
        collection.AddSessions().AddMemoryBackend().AddConnectionSessions().AddConnectionSessions();

        Assert.That(collection.Count(d => d.ServiceType == typeof(CircuitHandler)), Is.EqualTo(1), "one circuit handler");
        Assert.That(collection.Single(d => d.ServiceType == typeof(CircuitHandler)).Lifetime, Is.EqualTo(ServiceLifetime.Scoped), "one per circuit");
        Assert.That(collection.Count(d => d.ServiceType == typeof(IConfigureOptions<HubOptions>)), Is.EqualTo(1), "one hub filter registration");
    }

    [Test]
    public void Outside_a_request_a_circuit_and_a_hub_the_accessor_says_there_is_no_browser()
    {
        using var services = Build(s => s.AddSessions().AddMemoryBackend().AddConnectionSessions());
        using var scope = services.CreateScope();
        var accessor = scope.ServiceProvider.GetRequiredService<IServerSessionAccessor>();

        var refused = Assert.ThrowsAsync<InvalidOperationException>(async () => await accessor.LoadAsync());

        Assert.That(refused!.Message, Does.Contain("background job").And.Contain("ISessionManager"));
    }

    private static ServiceProvider Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        configure(services);
        return services.BuildServiceProvider();
    }
}
