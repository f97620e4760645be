using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.EFCore.Tests.Migrations;

/// <summary>
/// The app's own context path: <c>modelBuilder.AddSessions()</c> in <see cref="AppDbContext"/>, the checked-in migration
/// applied with <c>MigrateAsync</c> to a fresh database, then sessions stored through that context.
/// </summary>
[TestFixture]
public sealed class UserContextMigrationTests
{
    private static IEnumerable<TestCaseData> Databases()
    {
        yield return new TestCaseData("sqlite").SetArgDisplayNames("SQLite");
        yield return new TestCaseData("postgres").SetArgDisplayNames("PostgreSQL");
    }

    [TestCaseSource(nameof(Databases))]
    public async Task The_migration_creates_the_sessions_table_and_sessions_round_trip_through_the_apps_context(string database)
    {
        await using var fresh = await FreshDatabase.CreateAsync(database);
        var services = new ServiceCollection();
        services.AddDbContext<AppDbContext>(fresh.Configure);
        services.AddSessions().AddEFCoreBackend<AppDbContext>();
        await using var provider = services.BuildServiceProvider();

        await using (var scope = provider.CreateAsyncScope())
        {
            var context = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            await context.Database.MigrateAsync();

            Assert.That(await context.Database.GetAppliedMigrationsAsync(), Is.EqualTo(new[] { "20260101000000_CreateNotesAndSessions" }), "applied migrations");
            Assert.That(context.Database.HasPendingModelChanges(), Is.False, "the model has changes the migration does not cover");
            context.Notes.Add(new Note { Id = "n1", Text = "the app's own table works alongside" });
            await context.SaveChangesAsync();
        }

        var backend = provider.GetRequiredService<ISessionBackend>();
        Assert.That(backend, Is.InstanceOf<EFCoreSessionBackend>());
        var key = $"it:{Guid.NewGuid():N}";
        var record = new SessionRecord(new byte[] { 1, 2, 3 }, DateTimeOffset.UtcNow.AddHours(1), 1);

        Assert.That(await backend.SetAsync(key, record, SetCondition.IfAbsent, default), Is.True, "IfAbsent on a fresh key");
        Assert.That((await backend.GetAsync(key, default))?.Payload.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }), "read back");
        Assert.That(await backend.SetAsync(key, record with { Version = 2 }, SetCondition.IfVersion(1), default), Is.True, "IfVersion(1)");
        Assert.That(await backend.SetAsync(key, record with { Version = 3 }, SetCondition.IfVersion(1), default), Is.False, "stale IfVersion(1)");
        Assert.That((await backend.GetAsync(key, default))?.Version, Is.EqualTo(2), "version after the conditional writes");
        Assert.That(await backend.RemoveAsync(key, 2, default), Is.True, "remove with the live version");
        Assert.That(await backend.GetAsync(key, default), Is.Null, "after remove");

        await using (var scope = provider.CreateAsyncScope())
        {
            var context = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            await backend.SetAsync(key, record, SetCondition.Always, default);
            var row = await context.Set<SessionEntity>().AsNoTracking().SingleAsync(s => s.Key == key);
            Assert.That(row.Version, Is.EqualTo(1), "the row, read through the app's own context from the migrated table");
        }
    }

    [TestCaseSource(nameof(Databases))]
    public async Task The_schema_helper_is_a_no_op_when_the_migration_created_the_table(string database)
    {
        await using var fresh = await FreshDatabase.CreateAsync(database);
        var services = new ServiceCollection();
        services.AddPooledDbContextFactory<AppDbContext>(fresh.Configure);
        services.AddSessions().AddEFCoreBackend<AppDbContext>();
        await using var provider = services.BuildServiceProvider();
        await using (var context = await provider.GetRequiredService<IDbContextFactory<AppDbContext>>().CreateDbContextAsync())
        {
            await context.Database.MigrateAsync();
        }

        Assert.That(await provider.EnsureSessionsTableAsync(), Is.False, "EnsureSessionsTableAsync after the migration");
    }

    [TestCaseSource(nameof(Databases))]
    public async Task Without_the_migration_the_backend_says_how_to_create_the_table(string database)
    {
        await using var fresh = await FreshDatabase.CreateAsync(database);
        var services = new ServiceCollection();
        services.AddDbContext<AppDbContext>(fresh.Configure);
        services.AddSessions().AddEFCoreBackend<AppDbContext>();
        await using var provider = services.BuildServiceProvider();
        var backend = provider.GetRequiredService<ISessionBackend>();

        var failure = Assert.ThrowsAsync<EFCoreSessionBackendException>(async () => await backend.GetAsync("s:missing-table", default));

        Assert.That(failure!.Message, Does.Contain("app_sessions").And.Contain("EnsureSessionsTableAsync").And.Contain("migration"));
    }

    /// <summary>A database nobody else uses, removed afterwards.</summary>
    private sealed class FreshDatabase : IAsyncDisposable
    {
        private readonly string _kind;

        private FreshDatabase(string kind, string connectionString)
        {
            _kind = kind;
            ConnectionString = connectionString;
        }

        public string ConnectionString { get; }

        public static async Task<FreshDatabase> CreateAsync(string kind) => kind == "sqlite"
            ? new FreshDatabase(kind, Tests.Databases.NewSqliteFile())
            : new FreshDatabase(kind, await Tests.Databases.PostgresServer.CreateDatabaseAsync("sessions_migrations"));

        public void Configure(DbContextOptionsBuilder options)
        {
            if (_kind == "sqlite")
            {
                options.UseSqlite(ConnectionString);
            }
            else
            {
                options.UseNpgsql(ConnectionString);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_kind == "postgres")
            {
                await Tests.Databases.PostgresServer.DropDatabaseAsync(ConnectionString);
            }
        }
    }
}
