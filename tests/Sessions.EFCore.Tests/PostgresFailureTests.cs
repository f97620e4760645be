using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.EFCore.Tests;

/// <summary>Dropped connections against a real PostgreSQL: reads retry, conditional writes fail clearly, nothing is half-written.</summary>
[TestFixture]
public sealed class PostgresFailureTests
{
    [Test]
    public async Task A_read_on_a_connection_the_server_killed_is_retried_and_succeeds()
    {
        var app = $"victim-{Guid.NewGuid():N}"[..30];
        await using var backend = EFCoreSessionBackend.Create(db => db.UseNpgsql(WithApplicationName(app)));
        var key = $"fail:{Guid.NewGuid():N}";
        await backend.SetAsync(key, Record(1), SetCondition.Always, default);

        // The pooled connection is now idle; the server ends it, as a restart or a failover would.
        Assert.That(await TerminateAsync(app, waitingOnLock: false), Is.GreaterThan(0), "connections terminated");

        Assert.That((await backend.GetAsync(key, default))?.Version, Is.EqualTo(1), "a read after the server dropped the pooled connection");
    }

    [Test]
    public async Task A_conditional_write_whose_connection_drops_mid_statement_fails_clearly_and_writes_nothing()
    {
        var app = $"victim-{Guid.NewGuid():N}"[..30];
        await using var backend = EFCoreSessionBackend.Create(db => db.UseNpgsql(WithApplicationName(app)));
        var key = $"fail:{Guid.NewGuid():N}";
        await backend.SetAsync(key, Record(1), SetCondition.Always, default);

        // Hold the row's lock so that the UPDATE waits on the server, then kill the waiting connection.
        await using var blocker = new NpgsqlConnection(Databases.Postgres);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM sessions WHERE key = @k FOR UPDATE", blocker, transaction))
        {
            lockRow.Parameters.AddWithValue("k", key);
            await lockRow.ExecuteScalarAsync();
        }

        var write = backend.SetAsync(key, Record(2), SetCondition.IfVersion(1), default).AsTask();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await TerminateAsync(app, waitingOnLock: true) == 0)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the conditional write never waited on the row lock");
            Assert.That(write.IsCompleted, Is.False, "the conditional write finished although the row was locked");
            await Task.Delay(20);
        }

        var failure = Assert.ThrowsAsync<EFCoreSessionBackendException>(() => write);
        Assert.That(failure!.OutcomeUnknown, Is.True, "OutcomeUnknown");
        Assert.That(failure.Message, Does.Contain("unknown"));
        await transaction.RollbackAsync();

        Assert.That((await backend.GetAsync(key, default))?.Version, Is.EqualTo(1), "the record after the failed write");
    }

    [Test]
    public async Task A_server_that_is_not_there_fails_the_probe_with_the_address()
    {
        await using var backend = EFCoreSessionBackend.Create(
            db => db.UseNpgsql("Host=127.0.0.1;Port=1;Username=postgres;Timeout=2"),
            new EFCoreSessionBackendOptions { MaxAttempts = 2 });

        var failure = Assert.ThrowsAsync<EFCoreSessionBackendException>(async () => await backend.ProbeAsync(default));

        Assert.That(failure!.Message, Does.Contain("127.0.0.1"));
    }

    [Test]
    public async Task The_probe_answers_on_a_running_server()
    {
        await using var backend = EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres));

        Assert.DoesNotThrowAsync(async () => await backend.ProbeAsync(default));
    }

    private static SessionRecord Record(long version) => new(new byte[] { (byte)version }, DateTimeOffset.UtcNow.AddHours(1), version);

    private static string WithApplicationName(string name) =>
        new NpgsqlConnectionStringBuilder(Databases.Postgres) { ApplicationName = name }.ConnectionString;

    private static async Task<int> TerminateAsync(string applicationName, bool waitingOnLock)
    {
        await using var admin = new NpgsqlConnection(Databases.Postgres);
        await admin.OpenAsync();
        var sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @app" +
                  (waitingOnLock ? " AND wait_event_type = 'Lock'" : string.Empty);
        await using var command = new NpgsqlCommand(sql, admin);
        command.Parameters.AddWithValue("app", applicationName);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
