using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using NUnit.Framework;
using Sessions.EFCore.Tests.Support;

// In the root namespace: NUnit runs a SetUpFixture for the tests in its namespace and below.
namespace Sessions.EFCore.Tests;

/// <summary>
/// The two databases every test runs against, set up once for the assembly: a PostgreSQL 15 server (started here unless
/// <c>SESSIONS_TEST_POSTGRES</c> points elsewhere) with a fresh database, and a SQLite file in a temporary directory. The
/// sessions table is created in each through the explicit helper.
/// </summary>
[SetUpFixture]
public sealed class Databases
{
    private static PostgresServer? s_postgres;
    private static string? s_postgresDatabase;
    private static string? s_sqliteDirectory;
    private static string? s_sqlite;
    private static string? s_postgresUnavailable;

    /// <summary>The server, for tests that need their own database.</summary>
    internal static PostgresServer PostgresServer
    {
        get
        {
            IgnoreUnlessPostgres();
            return s_postgres!;
        }
    }

    /// <summary>The shared PostgreSQL database, with the sessions table.</summary>
    public static string Postgres
    {
        get
        {
            IgnoreUnlessPostgres();
            return s_postgresDatabase!;
        }
    }

    /// <summary>The shared SQLite file, with the sessions table.</summary>
    public static string Sqlite => s_sqlite ?? throw new InvalidOperationException("SQLite is not set up.");

    /// <summary>A new temporary SQLite file's connection string (the file lives in this run's temporary directory).</summary>
    public static string NewSqliteFile() =>
        new SqliteConnectionStringBuilder { DataSource = Path.Combine(s_sqliteDirectory!, $"{Guid.NewGuid():N}.db"), DefaultTimeout = 30 }.ToString();

    private static void IgnoreUnlessPostgres()
    {
        if (s_postgresUnavailable is not null)
        {
            Assert.Ignore(s_postgresUnavailable);
        }

        if (s_postgresDatabase is null)
        {
            throw new InvalidOperationException("PostgreSQL is not running; see the one-time set-up's failure.");
        }
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        s_sqliteDirectory = Directory.CreateTempSubdirectory("sessions-efcore-sqlite-").FullName;
        s_sqlite = NewSqliteFile();
        await using (var connection = new SqliteConnection(s_sqlite))
        {
            // WAL lets readers run while one connection writes; it is a property of the file, set once.
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL";
            await command.ExecuteNonQueryAsync();
        }

        await EnsureTablesAsync(db => db.UseSqlite(s_sqlite));

        if (Support.PostgresServer.UnavailableReason() is { } reason)
        {
            s_postgresUnavailable = reason;
            return;
        }

        using var startup = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        s_postgres = await Support.PostgresServer.StartAsync(startup.Token);
        s_postgresDatabase = await s_postgres.CreateDatabaseAsync("sessions_tests");
        await EnsureTablesAsync(db => db.UseNpgsql(s_postgresDatabase));
    }

    // The internal context's table (sessions) and the app context's (app_sessions), each through the explicit helper.
    private static async Task EnsureTablesAsync(Action<DbContextOptionsBuilder> configure)
    {
        await using (var backend = EFCoreSessionBackend.Create(configure))
        {
            await backend.EnsureTableAsync();
        }

        var options = new DbContextOptionsBuilder<Migrations.AppDbContext>();
        configure(options);
        await using var app = EFCoreSessionBackend.Create(new PooledDbContextFactory<Migrations.AppDbContext>(options.Options));
        await app.EnsureTableAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        SqliteConnection.ClearAllPools();
        if (s_postgres is not null)
        {
            if (s_postgresDatabase is not null && !s_postgres.Owned)
            {
                await s_postgres.DropDatabaseAsync(s_postgresDatabase);
            }

            await s_postgres.DisposeAsync();
        }

        if (s_sqliteDirectory is not null)
        {
            Directory.Delete(s_sqliteDirectory, recursive: true);
        }
    }
}
