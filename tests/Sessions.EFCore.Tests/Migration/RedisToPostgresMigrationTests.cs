using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.StoreMigration.Tests;
using Sessions.Redis;

namespace Sessions.EFCore.Tests.StoreMigration;

/// <summary>A redis-server this fixture starts on a free loopback port (no persistence), stopped by its own process ID.</summary>
internal static class RedisForMigration
{
    public static async Task<(ServerProcess Server, string Endpoint)> StartAsync()
    {
        var port = ServerProcess.FreeLoopbackPort();
        var redis = ServerProcess.FindOnPath("redis-server", "run tools/setup.sh (or apt-get install -y redis-server).");
        var server = await ServerProcess.StartAsync(
            $"redis-server on 127.0.0.1:{port}",
            redis,
            ["--port", ServerProcess.Arg(port), "--bind", "127.0.0.1", "--save", "''", "--appendonly", "no", "--protected-mode", "no"],
            ct => ServerProcess.AcceptsTcpAsync(port, ct),
            TimeSpan.FromSeconds(20));
        return (server, $"127.0.0.1:{port}");
    }
}

/// <summary>
/// The behaviour table over HTTP on the migrating backend from Redis (started here) to PostgreSQL through EF Core. Redis
/// expires records by its own clock, so the timeout rows run in real time.
/// </summary>
[TestFixture]
public sealed class RedisToPostgresBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _prefixes = new();
    private ServerProcess? _server;
    private string _redis = null!;

    protected override bool SupportsControllableTime => false;

    [OneTimeSetUp]
    public async Task StartRedisAsync() => (_server, _redis) = await RedisForMigration.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedisAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    protected override void AddBackend(ISessionsBuilder builder)
    {
        var database = Databases.Postgres;
        var redis = _redis;

        // One prefix per test, shared by the test's apps (so two app servers meet on one store), apart from other tests'.
        var prefix = _prefixes.GetOrAdd(TestContext.CurrentContext.Test.ID, _ => $"t{Guid.NewGuid():N}"[..17] + ":");
        builder.AddRedisBackend(o =>
            {
                o.Configuration = redis;
                o.KeyPrefix = prefix;
            })
            .AddEFCoreBackend(db => db.UseNpgsql(database))
            .AddMigratingBackend("redis", "efcore");

        // A call through the migrating backend may take several store round trips, on two cold connections for an app's
        // first request (the kit's wrapper hides the probe that warms them at start-up): as the README advises, a longer
        // Sessions:OperationTimeout than the 1 s default. Registered first, so that a test's own setting still wins.
        builder.Services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<SessionOptions>>(
            new ConfigureOptions<SessionOptions>(o => o.OperationTimeout = TimeSpan.FromSeconds(5))));
    }

    // Garbage planted in the new store, which reads try first.
    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        Support.UnreadableRows.WriteAsync(new Npgsql.NpgsqlConnection(Databases.Postgres), "sessions", "key", key, cancellationToken);
}

/// <summary>Moving from Redis to PostgreSQL, both servers started by the test run.</summary>
[TestFixture]
public sealed class RedisToPostgresMigrationTests : MigrationScenarioTests
{
    private readonly string _prefix = $"mig{Guid.NewGuid():N}"[..16] + ":";
    private ServerProcess? _server;
    private string _redis = null!;

    protected override string FromName => "redis";

    protected override string ToName => "efcore";

    [OneTimeSetUp]
    public async Task StartRedisAsync() => (_server, _redis) = await RedisForMigration.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedisAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    protected override ValueTask<ISessionBackend> CreateFromAsync() =>
        new(new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = _redis, KeyPrefix = _prefix }));

    protected override ValueTask<ISessionBackend> CreateToAsync()
    {
        var database = Databases.Postgres;
        return new(EFCoreSessionBackend.Create(db => db.UseNpgsql(database)));
    }

    protected override void AddFrom(ISessionsBuilder builder)
    {
        var redis = _redis;
        var prefix = _prefix;
        builder.AddRedisBackend(o =>
        {
            o.Configuration = redis;
            o.KeyPrefix = prefix;
        });
    }

    protected override void AddTo(ISessionsBuilder builder)
    {
        var database = Databases.Postgres;
        builder.AddEFCoreBackend(db => db.UseNpgsql(database));
    }
}
