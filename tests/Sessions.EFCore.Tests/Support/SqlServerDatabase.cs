using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.EFCore.Tests.Migrations;

namespace Sessions.EFCore.Tests.Support;

/// <summary>
/// The SQL Server the kit runs against, named by <c>SESSIONS_TEST_SQLSERVER</c> (a connection string to a disposable
/// database). No SQL Server can be installed on the project's machines, so without the variable the SQL Server fixtures are
/// ignored, never passed. The first use creates the sessions tables (internal and app context) in that database.
/// </summary>
internal static class SqlServerDatabase
{
    public const string Variable = "SESSIONS_TEST_SQLSERVER";

    private static readonly Lazy<string> s_ready = new(CreateTables);

    /// <summary>The connection string, with both tables created; calls <see cref="Assert.Ignore(string)"/> when the variable is not set.</summary>
    public static string ConnectionString
    {
        get
        {
            if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable)))
            {
                Assert.Ignore(
                    $"{Variable} is not set: no SQL Server runs here, so the kit cannot run on it. Point it at a disposable database to run it, e.g. " +
                    $"{Variable}=\"Server=127.0.0.1,1433;Database=sessions_tests;User Id=sa;Password=...;TrustServerCertificate=true\" dotnet test tests/Sessions.EFCore.Tests --filter SqlServer");
            }

            return s_ready.Value;
        }
    }

    /// <summary>A connection string for a loopback port nothing listens on.</summary>
    public static string Unreachable() =>
        $"Server=127.0.0.1,{ServerProcess.FreeLoopbackPort()};Database=x;User Id=sa;Password=x;Connect Timeout=2;TrustServerCertificate=true";

    private static string CreateTables()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable)!;
        Task.Run(async () =>
        {
            await using (var backend = EFCoreSessionBackend.Create(db => db.UseSqlServer(connectionString)))
            {
                await backend.EnsureTableAsync();
            }

            var options = new DbContextOptionsBuilder<AppDbContext>().UseSqlServer(connectionString).Options;
            await using var app = EFCoreSessionBackend.Create(new PooledDbContextFactory<AppDbContext>(options));
            await app.EnsureTableAsync();
        }).GetAwaiter().GetResult();
        return connectionString;
    }
}
