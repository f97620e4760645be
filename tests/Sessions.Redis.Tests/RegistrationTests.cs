using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Tests.Support;
using StackExchange.Redis;

namespace Sessions.Redis.Tests;

/// <summary>
/// The ways an app tells the backend where Redis is: a configuration string (the backend owns that multiplexer), a
/// factory, a multiplexer handed over, or the one in DI (the app owns those; they are never disposed).
/// </summary>
[TestFixture]
public sealed class RegistrationTests
{
    private static readonly SessionRecord s_record = new(Encoding.UTF8.GetBytes("registered"), DateTimeOffset.UtcNow.AddHours(1), 1);

    [Test]
    public async Task Configuration_binds_from_the_Sessions_Redis_section()
    {
        var prefix = $"bound-{Guid.NewGuid():N}:";
        var settings = new Dictionary<string, string?>
        {
            ["Sessions:Redis:Configuration"] = await TestServers.RedisAsync(),
            ["Sessions:Redis:KeyPrefix"] = prefix,
            ["Sessions:Redis:Database"] = "3",
            ["Sessions:Redis:CommandTimeout"] = "00:00:02",
        };
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSessions(builder.Configuration.GetSection("Sessions")).AddRedisBackend();
        using var host = builder.Build();
        await host.StartAsync();

        var options = host.Services.GetRequiredService<IOptions<RedisSessionBackendOptions>>().Value;
        Assert.That(options.CommandTimeout, Is.EqualTo(TimeSpan.FromSeconds(2)));
        var backend = host.Services.GetRequiredService<ISessionBackend>();
        Assert.That(await backend.SetAsync("session:bound", s_record, SetCondition.Always, CancellationToken.None), Is.True);

        var shared = await SharedMultiplexers.RedisAsync();
        Assert.That(await shared.GetDatabase(3).KeyExistsAsync(prefix + "session:bound"), Is.True, "the record in database 3 under the bound KeyPrefix");
        Assert.That(((RedisSessionBackend)backend).Multiplexer!.TimeoutMilliseconds, Is.EqualTo(2000), "CommandTimeout becomes the multiplexer's timeout");
        await host.StopAsync();
    }

    [Test]
    public async Task A_configuration_string_gets_fast_failure_defaults_unless_it_sets_its_own()
    {
        var endpoint = await TestServers.RedisAsync();
        var defaults = Settings.Apply(new RedisSessionBackendOptions { Configuration = endpoint });
        var own = Settings.Apply(new RedisSessionBackendOptions { Configuration = endpoint + ",connectTimeout=3000,asyncTimeout=4000,abortConnect=true" });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(defaults.ConnectTimeout, Is.EqualTo(1000));
            Assert.That(defaults.AsyncTimeout, Is.EqualTo(1000));
            Assert.That(defaults.SyncTimeout, Is.EqualTo(1000));
            Assert.That(defaults.AbortOnConnectFail, Is.False);
            Assert.That(defaults.BacklogPolicy.QueueWhileDisconnected, Is.False, "BacklogPolicy.FailFast");
            Assert.That(own.ConnectTimeout, Is.EqualTo(3000), "the string's own connectTimeout");
            Assert.That(own.AsyncTimeout, Is.EqualTo(4000), "the string's own asyncTimeout");
            Assert.That(own.SyncTimeout, Is.EqualTo(1000), "CommandTimeout where the string is silent");
            Assert.That(own.AbortOnConnectFail, Is.True, "the string's own abortConnect");
        }
    }

    [Test]
    public async Task The_overload_uses_the_given_multiplexer_and_never_disposes_it()
    {
        await using var multiplexer = await SharedMultiplexers.ConnectAsync(await TestServers.RedisAsync());
        var prefix = $"given-{Guid.NewGuid():N}:";
        ISessionBackend backend;
        using (var host = BuildHost(s => s.AddSessions().AddRedisBackend(multiplexer, o => o.KeyPrefix = prefix)))
        {
            await host.StartAsync();
            backend = host.Services.GetRequiredService<ISessionBackend>();
            Assert.That(((RedisSessionBackend)backend).Multiplexer, Is.SameAs(multiplexer));
            Assert.That(await backend.SetAsync("session:given", s_record, SetCondition.IfAbsent, CancellationToken.None), Is.True);
            Assert.That(await multiplexer.GetDatabase().KeyExistsAsync(prefix + "session:given"), Is.True, "the record under the KeyPrefix");
            await host.StopAsync();
        }

        Assert.That(async () => await backend.GetAsync("session:given", CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>(), "the container disposed its backend");
        Assert.That(multiplexer.IsConnected, Is.True, "the app's multiplexer after the host was disposed");
        Assert.That(await multiplexer.GetDatabase().PingAsync(), Is.GreaterThanOrEqualTo(TimeSpan.Zero));
        await multiplexer.GetDatabase().KeyDeleteAsync(prefix + "session:given");
    }

    [Test]
    public async Task Without_configuration_or_factory_the_multiplexer_registered_in_DI_is_used_and_kept_open()
    {
        await using var multiplexer = await SharedMultiplexers.ConnectAsync(await TestServers.RedisAsync());
        using (var host = BuildHost(s =>
        {
            s.AddSingleton<IConnectionMultiplexer>(multiplexer); // what Aspire's AddRedisClient registers
            s.AddSessions().AddRedisBackend();
        }))
        {
            await host.StartAsync();
            var backend = (RedisSessionBackend)host.Services.GetRequiredService<ISessionBackend>();
            Assert.That(backend.Multiplexer, Is.SameAs(multiplexer));
            Assert.That(await backend.GetAsync($"session:{Guid.NewGuid():N}", CancellationToken.None), Is.Null);
            await host.StopAsync();
        }

        Assert.That(multiplexer.IsConnected, Is.True, "a multiplexer from DI is the app's: disposing the backend leaves it open");
    }

    [Test]
    public async Task A_factory_is_called_once_on_first_use_and_its_multiplexer_is_not_disposed()
    {
        await using var multiplexer = await SharedMultiplexers.ConnectAsync(await TestServers.RedisAsync());
        var calls = 0;
        var backend = new RedisSessionBackend(new RedisSessionBackendOptions
        {
            ConnectionMultiplexerFactory = () =>
            {
                Interlocked.Increment(ref calls);
                return Task.FromResult<IConnectionMultiplexer>(multiplexer);
            },
        });
        Assert.That(calls, Is.Zero, "nothing connects before the first call");

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => backend.GetAsync($"session:factory-{i}", CancellationToken.None).AsTask()));
        await backend.DisposeAsync();

        Assert.That(calls, Is.EqualTo(1));
        Assert.That(multiplexer.IsConnected, Is.True);
    }

    [Test]
    public async Task The_backend_opened_from_a_configuration_string_disposes_its_multiplexer()
    {
        var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() });
        Assert.That(await backend.GetAsync("session:owned", CancellationToken.None), Is.Null);
        var multiplexer = backend.Multiplexer!;
        Assert.That(multiplexer.IsConnected, Is.True);

        await backend.DisposeAsync();

        Assert.That(multiplexer.IsConnected, Is.False);
        Assert.That(async () => await backend.GetAsync("session:owned", CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public void Start_up_fails_with_what_to_set_when_nothing_says_where_Redis_is()
    {
        using var host = BuildHost(s => s.AddSessions().AddRedisBackend());

        var error = Assert.CatchAsync(() => host.StartAsync());

        Assert.That(error!.ToString(), Does.Contain("Sessions:Redis:Configuration").And.Contain("IConnectionMultiplexer"));
    }

    [Test]
    public void Invalid_options_fail_start_up_with_one_message_each()
    {
        using var host = BuildHost(s => s.AddSessions().AddRedisBackend(o =>
        {
            o.Configuration = "127.0.0.1:6379,pasword=x";
            o.KeyPrefix = "has space";
            o.Database = -2;
            o.CommandTimeout = TimeSpan.Zero;
        }));

        var error = Assert.CatchAsync(() => host.StartAsync());
        var text = error!.ToString();

        Assert.That(text, Does.Contain("Configuration (Sessions:Redis:Configuration) is not a valid StackExchange.Redis configuration string"));
        Assert.That(text, Does.Contain("KeyPrefix (Sessions:Redis:KeyPrefix)"));
        Assert.That(text, Does.Contain("Database (Sessions:Redis:Database) must be 0 or more"));
        Assert.That(text, Does.Contain("CommandTimeout (Sessions:Redis:CommandTimeout) must be from 1 ms to 1 hour"));
    }

    [Test]
    public async Task A_multiplexer_and_a_configuration_string_together_are_refused()
    {
        await using var multiplexer = await SharedMultiplexers.ConnectAsync(await TestServers.RedisAsync());
        using var host = BuildHost(s => s.AddSessions().AddRedisBackend(multiplexer, o => o.Configuration = "127.0.0.1:6379"));

        var error = Assert.CatchAsync(() => host.StartAsync());

        Assert.That(error!.ToString(), Does.Contain("more than one of"));
        Assert.That(multiplexer.IsConnected, Is.True);
    }

    [Test]
    public async Task A_registered_but_unselected_Redis_backend_is_never_validated()
    {
        using var host = BuildHost(s => s.AddSessions(o => o.Backend = "memory").AddMemoryBackend().AddRedisBackend(o => o.Configuration = "127.0.0.1:6379,pasword=x"));

        await host.StartAsync();

        Assert.That(host.Services.GetRequiredService<ISessionBackend>(), Is.Not.InstanceOf<RedisSessionBackend>());
        await host.StopAsync();
    }

    private static IHost BuildHost(Action<IServiceCollection> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        configure(builder.Services);
        return builder.Build();
    }

    /// <summary>Reaches the internal defaults through the same code path the backend uses.</summary>
    private static class Settings
    {
        public static ConfigurationOptions Apply(RedisSessionBackendOptions options) => options.ToConfigurationOptions();
    }
}
