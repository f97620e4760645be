using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using NUnit.Framework;
using Sessions.EFCore.Tests.Migrations;
using Sessions.EFCore.Tests.Support;

// In the root namespace: NUnit runs a SetUpFixture for the tests in its namespace and below.
namespace Sessions.EFCore.Tests;

/// <summary>
/// The MariaDB every test runs against, set up once for the assembly: a server started here (unless
/// <c>SESSIONS_TEST_MARIADB</c> points elsewhere) with a fresh database, holding the internal context's table
/// (<c>sessions</c>) and the app context's (<c>app_sessions</c>), both created through the explicit helper.
/// </summary>
[SetUpFixture]
public sealed class Databases
{
    /// <summary>The server version given to <c>UseMySql</c>, so that building a context never has to ask the server.</summary>
    public static readonly ServerVersion Version = new MariaDbServerVersion(new Version(10, 11, 0));

    private static MariaDbServer? s_server;
    private static string? s_database;
    private static string? s_unavailable;

    /// <summary>The server, for tests that need their own database.</summary>
    internal static MariaDbServer Server
    {
        get
        {
            _ = MariaDb;
            return s_server!;
        }
    }

    /// <summary>The shared database, with both sessions tables.</summary>
    public static string MariaDb
    {
        get
        {
            if (s_unavailable is not null)
            {
                Assert.Ignore(s_unavailable);
            }

            return s_database ?? throw new InvalidOperationException("MariaDB is not running; see the one-time set-up's failure.");
        }
    }

    public static void Use(DbContextOptionsBuilder db, string connectionString) => db.UseMySql(connectionString, Version);

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        if (MariaDbServer.UnavailableReason() is { } reason)
        {
            s_unavailable = reason;
            return;
        }

        using var startup = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        s_server = await MariaDbServer.StartAsync(startup.Token);
        s_database = await s_server.CreateDatabaseAsync("sessions_tests");
        var database = s_database;
        await using (var backend = EFCoreSessionBackend.Create(db => Use(db, database)))
        {
            await backend.EnsureTableAsync();
        }

        var options = new DbContextOptionsBuilder<AppDbContext>();
        Use(options, database);
        await using var app = EFCoreSessionBackend.Create(new PooledDbContextFactory<AppDbContext>(options.Options));
        await app.EnsureTableAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (s_server is not null)
        {
            await s_server.DisposeAsync();
        }
    }
}
