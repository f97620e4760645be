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

        Assert.That(DatabaseErrors.Classify(error, connectionOpened: true), Is.EqualTo(expected));
    }

    [Test]
    public void A_broken_connection_leaves_the_outcome_unknown_unless_it_broke_while_opening()
    {
        var broken = new NpgsqlException("Exception while reading from stream", new EndOfStreamException());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(DatabaseErrors.Classify(broken, connectionOpened: true), Is.EqualTo(FailureKind.OutcomeUnknown), "after the statement was sent");
            Assert.That(DatabaseErrors.Classify(broken, connectionOpened: false), Is.EqualTo(FailureKind.NotApplied), "while opening");
        }
    }

    [Test]
    public void A_busy_SQLite_database_did_not_apply_the_statement()
    {
        var busy = new SqliteException("database is locked", 5);

        Assert.That(DatabaseErrors.Classify(busy, connectionOpened: true), Is.EqualTo(FailureKind.NotApplied));
    }

    [Test]
    public void Duplicate_keys_and_missing_tables_are_recognised_on_PostgreSQL_and_SQLite()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(DatabaseErrors.IsDuplicateKey(new PostgresException("dup", "ERROR", "ERROR", "23505")), Is.True, "PostgreSQL 23505");
            Assert.That(DatabaseErrors.IsDuplicateKey(new PostgresException("other", "ERROR", "ERROR", "23502")), Is.False, "PostgreSQL 23502 (not null)");
            Assert.That(DatabaseErrors.IsDuplicateKey(new SqliteException("UNIQUE constraint failed", 19, 2067)), Is.True, "SQLite unique");
            Assert.That(DatabaseErrors.IsDuplicateKey(new SqliteException("PRIMARY KEY constraint failed", 19, 1555)), Is.True, "SQLite primary key");
            Assert.That(DatabaseErrors.IsDuplicateKey(new SqliteException("NOT NULL constraint failed", 19, 1299)), Is.False, "SQLite not null");
            Assert.That(DatabaseErrors.IsMissingTable(new PostgresException("missing", "ERROR", "ERROR", "42P01")), Is.True, "PostgreSQL 42P01");
            Assert.That(DatabaseErrors.IsMissingTable(new SqliteException("SQLite Error 1: 'no such table: sessions'.", 1)), Is.True, "SQLite no such table");
        }
    }

    [Test]
    public async Task A_SQLite_row_under_the_key_makes_the_insert_a_duplicate_that_if_absent_reports_as_taken()
    {
        var file = Databases.NewSqliteFile();
        await using var backend = EFCoreSessionBackend.Create(db => db.UseSqlite(file));
        await backend.EnsureTableAsync();
        var record = new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1);

        Assert.That(await backend.SetAsync("dup:1", record, SetCondition.IfAbsent, default), Is.True, "the first insert");
        Assert.That(await backend.SetAsync("dup:1", record with { Version = 2 }, SetCondition.IfAbsent, default), Is.False, "the second, a duplicate key");
        Assert.That((await backend.GetAsync("dup:1", default))?.Version, Is.EqualTo(1), "the first record stays");
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
