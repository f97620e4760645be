using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.EFCore.Internal;

namespace Sessions.EFCore.Tests;

/// <summary>The explicit schema helper, the table options, registration, the batched purge, and failure classification.</summary>
[TestFixture]
public sealed class SchemaAndOptionsTests
{
    [Test]
    public async Task The_table_is_never_created_silently_and_the_helper_creates_it_once()
    {
        var file = Databases.NewSqliteFile();
        await using var backend = EFCoreSessionBackend.Create(db => db.UseSqlite(file));

        var failure = Assert.ThrowsAsync<EFCoreSessionBackendException>(async () => await backend.GetAsync("s:1", default));
        Assert.That(failure!.Message, Does.Contain("EnsureSessionsTableAsync"), "the error when the table is missing");

        Assert.That(await backend.EnsureTableAsync(), Is.True, "the first EnsureTableAsync creates the table");
        Assert.That(await backend.EnsureTableAsync(), Is.False, "the second finds it");
        Assert.That(await backend.GetAsync("s:1", default), Is.Null, "a read once the table exists");
    }

    [Test]
    public async Task Table_name_and_schema_options_are_honoured_on_PostgreSQL()
    {
        var schema = $"s{Guid.NewGuid():N}"[..20];
        await using var backend = EFCoreSessionBackend.Create(
            db => db.UseNpgsql(Databases.Postgres),
            new EFCoreSessionBackendOptions { TableName = "web_sessions", Schema = schema });

        Assert.That(await backend.EnsureTableAsync(), Is.True, "EnsureTableAsync in a new schema");
        await backend.SetAsync("s:1", new SessionRecord(new byte[] { 7 }, DateTimeOffset.UtcNow.AddHours(1), 3), SetCondition.IfAbsent, default);

        await using var connection = new NpgsqlConnection(Databases.Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT version FROM \"{schema}\".web_sessions WHERE key = 's:1'; " +
            $"SELECT string_agg(column_name || ':' || data_type || ':' || coalesce(character_maximum_length::text, ''), ',' ORDER BY column_name) " +
            $"FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = 'web_sessions'; " +
            $"SELECT count(*) FROM pg_indexes WHERE schemaname = '{schema}' AND indexname = 'ix_web_sessions_expires_at'",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.That(reader.GetInt64(0), Is.EqualTo(3), "the row, in the named schema and table");
        await reader.NextResultAsync();
        await reader.ReadAsync();
        Assert.That(reader.GetString(0), Is.EqualTo("expires_at:bigint:,key:character varying:250,payload:bytea:,version:bigint:"), "the columns");
        await reader.NextResultAsync();
        await reader.ReadAsync();
        Assert.That(reader.GetInt64(0), Is.EqualTo(1), "the expiry index");
    }

    [Test]
    public async Task The_purge_deletes_in_batches_and_spares_live_rows()
    {
        var file = Databases.NewSqliteFile();
        await using var backend = EFCoreSessionBackend.Create(db => db.UseSqlite(file), new EFCoreSessionBackendOptions { PurgeBatchSize = 7 });
        await backend.EnsureTableAsync();
        for (var i = 0; i < 30; i++)
        {
            await backend.SetAsync($"expired:{i}", new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddMinutes(-1), 1), SetCondition.Always, default);
        }

        for (var i = 0; i < 5; i++)
        {
            await backend.SetAsync($"live:{i}", new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, default);
        }

        Assert.That(await backend.PurgeExpiredAsync(default), Is.EqualTo(30), "rows purged (in batches of 7)");

        await using var connection = new SqliteConnection(file);
        await connection.OpenAsync();
        await using var command = new SqliteCommand("SELECT count(*) FROM sessions", connection);
        Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo(5), "rows left: the live ones");
    }

    [Test]
    public async Task Registration_uses_the_apps_clock_and_the_helper_creates_the_table()
    {
        var file = Databases.NewSqliteFile();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddSessions().AddEFCoreBackend(db => db.UseSqlite(file), o => o.TableName = "my_sessions");
        await using var provider = services.BuildServiceProvider();

        Assert.That(await provider.EnsureSessionsTableAsync(), Is.True, "EnsureSessionsTableAsync");
        var backend = provider.GetRequiredService<ISessionBackend>();
        await backend.SetAsync("s:1", new SessionRecord(new byte[] { 1 }, clock.GetUtcNow().AddMinutes(5), 1), SetCondition.Always, default);
        Assert.That(await backend.GetAsync("s:1", default), Is.Not.Null, "before the expiry");

        clock.Advance(TimeSpan.FromMinutes(6));

        Assert.That(await backend.GetAsync("s:1", default), Is.Null, "after the expiry, on the app's clock");
    }

    [Test]
    public void Invalid_options_fail_at_start_with_a_message_that_names_the_option()
    {
        var services = new ServiceCollection();
        services.AddSessions().AddEFCoreBackend(db => db.UseSqlite("Data Source=:memory:"), o => o.PurgeBatchSize = 0);
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<EFCoreSessionBackendOptions>>().Value);

        Assert.That(failure!.Message, Does.Contain("PurgeBatchSize"));
    }

    [Test]
    public void An_unsupported_provider_is_refused_with_the_supported_ones_named()
    {
        Assert.That(
            () => EFCoreSessionBackend.Create(db => { }),
            Throws.InvalidOperationException.With.Message.Contain("UseSqlite").And.Message.Contain("UseNpgsql"));
    }

    [TestCase("40001", "NotApplied")]
    [TestCase("40P01", "NotApplied")]
    [TestCase("23505", "Permanent")]
    [TestCase("42P01", "Permanent")]
    public void PostgreSQL_failures_are_classified_by_whether_the_statement_was_applied(string sqlState, string kind)
    {
        var expected = Enum.Parse<FailureKind>(kind);
        var error = new PostgresException("simulated", "ERROR", "ERROR", sqlState);

        Assert.That(TransientFailures.Classify(error, DatabaseKind.PostgreSql, connectionOpened: true), Is.EqualTo(expected));
    }

    [Test]
    public void A_broken_connection_leaves_the_outcome_unknown_unless_it_broke_while_opening()
    {
        var broken = new NpgsqlException("Exception while reading from stream", new EndOfStreamException());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(TransientFailures.Classify(broken, DatabaseKind.PostgreSql, connectionOpened: true), Is.EqualTo(FailureKind.OutcomeUnknown), "after the statement was sent");
            Assert.That(TransientFailures.Classify(broken, DatabaseKind.PostgreSql, connectionOpened: false), Is.EqualTo(FailureKind.NotApplied), "while opening");
        }
    }

    [Test]
    public void A_busy_SQLite_database_did_not_apply_the_statement()
    {
        var busy = new SqliteException("database is locked", 5);

        Assert.That(TransientFailures.Classify(busy, DatabaseKind.Sqlite, connectionOpened: true), Is.EqualTo(FailureKind.NotApplied));
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
