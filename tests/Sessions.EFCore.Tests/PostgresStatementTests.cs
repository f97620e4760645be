using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.EFCore.Tests;

/// <summary>The hot-path statements on a real PostgreSQL: prepared once per connection, and robust to the table changing under them.</summary>
[TestFixture]
public sealed class PostgresStatementTests
{
    [TestCase(true, 5)]
    [TestCase(false, 0)]
    public async Task The_hot_path_statements_are_prepared_on_the_connection_unless_turned_off(bool prepare, int expectedPrepared)
    {
        var table = $"prep_{Guid.NewGuid():N}"[..20];

        // One physical connection, so that the test's own connection is the one the backend prepared its statements on.
        await using var dataSource = new NpgsqlDataSourceBuilder(Databases.Postgres) { ConnectionStringBuilder = { MaxPoolSize = 1 } }.Build();
        await using var backend = EFCoreSessionBackend.Create(
            db => db.UseNpgsql(dataSource),
            new EFCoreSessionBackendOptions { TableName = table, PrepareStatements = prepare });
        await backend.EnsureTableAsync();

        await backend.SetAsync("s:1", Record(1), SetCondition.Always, default);
        Assert.That((await backend.GetAsync("s:1", default))?.Version, Is.EqualTo(1), "get");
        Assert.That(await backend.SetAsync("s:1", Record(2), SetCondition.IfVersion(1), default), Is.True, "set IfVersion");
        Assert.That(await backend.TouchAsync("s:1", DateTimeOffset.UtcNow.AddHours(2), default), Is.True, "touch");
        Assert.That(await backend.RemoveAsync("s:1", expectedVersion: null, default), Is.True, "remove");

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%' || $1 || '%'", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table });
        Assert.That(Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(expectedPrepared), "statements prepared on the connection");
    }

    [Test]
    public async Task A_missing_table_names_the_helper_and_a_recreated_table_is_used_by_the_prepared_statements()
    {
        var table = $"gone_{Guid.NewGuid():N}"[..20];
        var connectionString = new NpgsqlConnectionStringBuilder(Databases.Postgres) { MaxPoolSize = 1 }.ConnectionString;
        await using var backend = EFCoreSessionBackend.Create(db => db.UseNpgsql(connectionString), new EFCoreSessionBackendOptions { TableName = table });

        var failure = Assert.ThrowsAsync<EFCoreSessionBackendException>(async () => await backend.GetAsync("s:1", default));
        Assert.That(failure!.Message, Does.Contain("EnsureSessionsTableAsync"), "the error when the table is missing");

        await backend.EnsureTableAsync();
        await backend.SetAsync("s:1", Record(1), SetCondition.Always, default);
        Assert.That((await backend.GetAsync("s:1", default))?.Version, Is.EqualTo(1), "a read once the table exists");

        // Dropped and created again, as a migration might: the statements prepared against the old table must follow the new one.
        await using (var admin = new NpgsqlConnection(Databases.Postgres))
        {
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP TABLE \"{table}\"", admin);
            await drop.ExecuteNonQueryAsync();
        }

        await backend.EnsureTableAsync();
        Assert.That(await backend.GetAsync("s:1", default), Is.Null, "a read from the new, empty table");
        Assert.That(await backend.SetAsync("s:1", Record(2), SetCondition.IfAbsent, default), Is.True, "IfAbsent into the new table");
        Assert.That((await backend.GetAsync("s:1", default))?.Version, Is.EqualTo(2), "the row written to the new table");
    }

    private static SessionRecord Record(long version) => new(new byte[] { (byte)version }, DateTimeOffset.UtcNow.AddHours(1), version);
}
