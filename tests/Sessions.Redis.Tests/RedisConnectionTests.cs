using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests;

/// <summary>A <see cref="RedisConnection"/> the app creates once and owns: registered with <c>AddRedisBackend(connection)</c>,
/// shared by backends, never disposed by them or by the container.</summary>
[TestFixture]
public sealed class RedisConnectionTests
{
    private static readonly SessionRecord s_record = new(Encoding.UTF8.GetBytes("shared"), DateTimeOffset.UtcNow.AddHours(1), 1);

    [Test]
    public async Task The_overload_registers_a_backend_that_uses_the_connection()
    {
        await using var connection = RedisConnection.Create(await TestServers.RedisAsync());
        var prefix = $"app-{Guid.NewGuid():N}:";
        using var host = BuildHost(connection, o => o.KeyPrefix = prefix);
        await host.StartAsync();

        var backend = host.Services.GetRequiredService<ISessionBackend>();
        Assert.That(backend, Is.InstanceOf<RedisSessionBackend>());
        Assert.That(((RedisSessionBackend)backend).Client, Is.SameAs(connection.Client), "the backend must use the connection it was given");
        Assert.That(await backend.SetAsync("session:registered", s_record, SetCondition.IfAbsent, CancellationToken.None), Is.True);
        Assert.That((await backend.GetAsync("session:registered", CancellationToken.None))!.Payload.ToArray(), Is.EqualTo(s_record.Payload.ToArray()));
        Assert.That((await connection.Client.ExecuteAsync(["EXISTS", prefix + "session:registered"], 1, CancellationToken.None)).Integer, Is.EqualTo(1), "the record under the configured KeyPrefix");

        await host.StopAsync();
    }

    [Test]
    public async Task Disposing_the_host_leaves_the_connection_usable()
    {
        await using var connection = RedisConnection.Create(await TestServers.RedisAsync());
        var prefix = $"app-{Guid.NewGuid():N}:";
        ISessionBackend backend;
        using (var host = BuildHost(connection, o => o.KeyPrefix = prefix))
        {
            await host.StartAsync();
            backend = host.Services.GetRequiredService<ISessionBackend>();
            Assert.That(await backend.SetAsync("session:kept", s_record, SetCondition.Always, CancellationToken.None), Is.True);
            await host.StopAsync();
        }

        Assert.That(async () => await backend.GetAsync("session:kept", CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>(), "the container disposed its backend");
        Assert.That((await connection.Client.ExecuteAsync(["PING"], -1, CancellationToken.None)).AsString(), Is.EqualTo("PONG"), "the connection after the host was disposed");

        await using var again = new RedisSessionBackend(connection, new RedisSessionBackendOptions { KeyPrefix = prefix });
        Assert.That((await again.GetAsync("session:kept", CancellationToken.None))!.Version, Is.EqualTo(1), "a new backend on the same connection");
    }

    [Test]
    public async Task A_container_disposed_synchronously_leaves_the_connection_usable_too()
    {
        await using var connection = RedisConnection.Create(await TestServers.RedisAsync());
        var services = new ServiceCollection();
        services.AddSessions().AddRedisBackend(connection);
        var provider = services.BuildServiceProvider();
        var backend = provider.GetRequiredService<ISessionBackend>();
        Assert.That(await backend.GetAsync("session:sync", CancellationToken.None), Is.Null);

        provider.Dispose();

        Assert.That((await connection.Client.ExecuteAsync(["PING"], -1, CancellationToken.None)).AsString(), Is.EqualTo("PONG"));
    }

    [Test]
    public async Task Two_backends_with_different_prefixes_share_one_connection()
    {
        var name = $"shared-{Guid.NewGuid():N}";
        await using var connection = RedisConnection.Create(await TestServers.RedisAsync() + $",name={name}");
        await using var first = new RedisSessionBackend(connection, new RedisSessionBackendOptions { KeyPrefix = $"{name}-one:" });
        await using var second = new RedisSessionBackend(connection, new RedisSessionBackendOptions { KeyPrefix = $"{name}-two:" });

        Assert.That(await first.SetAsync("session:same", s_record, SetCondition.IfAbsent, CancellationToken.None), Is.True);
        Assert.That(await second.SetAsync("session:same", s_record with { Version = 7 }, SetCondition.IfAbsent, CancellationToken.None), Is.True, "the same key under another prefix is another record");
        Assert.That((await first.GetAsync("session:same", CancellationToken.None))!.Version, Is.EqualTo(1));
        Assert.That((await second.GetAsync("session:same", CancellationToken.None))!.Version, Is.EqualTo(7));
        Assert.That(await ToListAsync(first.EnumerateKeysAsync("session:", CancellationToken.None)), Is.EqualTo(new[] { "session:same" }), "each lists only its own keys");

        var clients = (await connection.Client.ExecuteAsync(["CLIENT", "LIST"], -1, CancellationToken.None)).AsString()!;
        Assert.That(clients.Split('\n').Count(line => line.Contains($" name={name} ", StringComparison.Ordinal)), Is.EqualTo(1), "server-side connections named " + name);

        await first.DisposeAsync();
        Assert.That((await second.GetAsync("session:same", CancellationToken.None))!.Version, Is.EqualTo(7), "the other backend after one was disposed");
        await second.RemoveAsync("session:same", null, CancellationToken.None);
    }

    [Test]
    public async Task Disposing_the_connection_stops_the_backends_that_use_it()
    {
        var connection = RedisConnection.Create(await TestServers.RedisAsync());
        await using var backend = new RedisSessionBackend(connection);
        Assert.That(await backend.GetAsync("session:owned", CancellationToken.None), Is.Null);

        await connection.DisposeAsync();

        Assert.That(async () => await backend.GetAsync("session:owned", CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public async Task Options_that_belong_to_the_connection_are_refused_at_start_up()
    {
        await using var connection = RedisConnection.Create(await TestServers.RedisAsync() + ",defaultDatabase=1");
        using var host = BuildHost(connection, o =>
        {
            o.Configuration = "127.0.0.1:6379";
            o.Database = 2;
        });

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(error!.Failures, Has.Some.Contains("Configuration is set, but the backend uses the RedisConnection"));
        Assert.That(error.Failures, Has.Some.Contains("selects database 1"));
        Assert.That(() => new RedisSessionBackend(connection, new RedisSessionBackendOptions { Database = 1 }), Throws.Nothing, "the connection's own database");
    }

    [Test]
    public void An_invalid_configuration_fails_when_the_connection_is_created()
    {
        var error = Assert.Throws<FormatException>(() => RedisConnection.Create("127.0.0.1:6379,pasword=x"));
        Assert.That(error!.Message, Does.Contain("Unknown option \"pasword\""));
    }

    private static IHost BuildHost(RedisConnection connection, Action<RedisSessionBackendOptions> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSessions().AddRedisBackend(connection, configure);
        return builder.Build();
    }

    private static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> items)
    {
        var list = new List<string>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
