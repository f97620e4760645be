using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MySqlConnector;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.EFCore.Tests.Support;

namespace Sessions.EFCore.Tests;

/// <summary>What is specific to MySQL and MariaDB: the key column's binary collation, racing writers on separate connections, and set-up from configuration alone.</summary>
[TestFixture]
public sealed class MariaDbTests
{
    [Test]
    public async Task The_key_column_compares_bytes_and_both_indexes_exist()
    {
        await using var connection = new MySqlConnection(Databases.MariaDb);
        await connection.OpenAsync();
        await using var command = new MySqlCommand("SHOW CREATE TABLE sessions", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var ddl = reader.GetString(1);

        Assert.That(ddl, Does.Contain("`key` varchar(250) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"), ddl);
        Assert.That(ddl, Does.Contain("PRIMARY KEY (`key`)").And.Contain("KEY `ix_sessions_expires_at` (`expires_at`)"), ddl);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Exactly_one_of_many_connections_wins_if_absent(bool overAnExpiredRow)
    {
        await using var backend = EFCoreSessionBackend.Create(db => Databases.Use(db, Databases.MariaDb));
        for (var round = 0; round < 15; round++)
        {
            var key = $"race:{Guid.NewGuid():N}";
            if (overAnExpiredRow)
            {
                await backend.SetAsync(key, new SessionRecord(new byte[] { 9 }, DateTimeOffset.UtcNow.AddMinutes(-1), 1000), SetCondition.Always, default);
            }

            var winners = await Racers.WinnersAsync(32, i => backend.SetAsync(key, Record(i), SetCondition.IfAbsent, default));

            Assert.That(winners, Has.Count.EqualTo(1), $"round {round}: winners of IfAbsent");
            Assert.That((await backend.GetAsync(key, default))?.Version, Is.EqualTo(winners[0]), $"round {round}: the stored record is the winner's");
        }
    }

    [Test]
    public async Task Exactly_one_of_many_connections_wins_if_version()
    {
        await using var backend = EFCoreSessionBackend.Create(db => Databases.Use(db, Databases.MariaDb));
        for (var round = 0; round < 15; round++)
        {
            var key = $"race:{Guid.NewGuid():N}";
            await backend.SetAsync(key, new SessionRecord(new byte[] { 9 }, DateTimeOffset.UtcNow.AddHours(1), 1000), SetCondition.Always, default);

            var winners = await Racers.WinnersAsync(32, i => backend.SetAsync(key, Record(i), SetCondition.IfVersion(1000), default));

            Assert.That(winners, Has.Count.EqualTo(1), $"round {round}: winners of IfVersion(1000)");
        }
    }

    [Test]
    public async Task Provider_MySql_from_configuration_finds_Pomelo_and_asks_the_server_its_version()
    {
        var database = await Databases.Server.CreateDatabaseAsync("sessions_config");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sessions:EFCore:Provider"] = "MySql",
            ["Sessions:EFCore:ConnectionString"] = database,
        }).Build();
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSessions(configuration.GetSection("Sessions")).AddEFCoreBackend();
        using var host = builder.Build();
        await host.StartAsync();

        Assert.That(await host.Services.EnsureSessionsTableAsync(), Is.True, "the table, created in the configured database");
        var backend = host.Services.GetRequiredService<ISessionBackend>();
        Assert.That(await backend.SetAsync("cfg:1", Record(4), SetCondition.IfAbsent, default), Is.True);
        Assert.That((await backend.GetAsync("cfg:1", default))?.Version, Is.EqualTo(4));
        await host.StopAsync();
    }

    private static SessionRecord Record(int racer) => new(BitConverter.GetBytes(racer), DateTimeOffset.UtcNow.AddHours(1), racer);
}
