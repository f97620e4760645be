using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.EFCore.Tests.Migrations;
using Sessions.EFCore.Tests.Support;

namespace Sessions.EFCore.Tests.Conformance;

// The kit on EF Core 10: a SQLite file and PostgreSQL 15 (both set up by Databases), each through the backend's internal
// context and through the app's own AppDbContext; SQL Server only against the server SESSIONS_TEST_SQLSERVER names.

public sealed class SqliteInternal : KitTarget
{
    public override EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider) =>
        EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite), options, timeProvider);

    public override void AddBackend(ISessionsBuilder builder)
    {
        var database = Databases.Sqlite;
        builder.AddEFCoreBackend(db => db.UseSqlite(database));
    }

    public override ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteAsync(new SqliteConnection(Databases.Sqlite), "sessions", "key", key, cancellationToken);

    // A database file in a directory that does not exist: SQLite cannot open it.
    public override EFCoreSessionBackend CreateUnreachable() =>
        EFCoreSessionBackend.Create(db => db.UseSqlite($"Data Source={Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "sessions.db")}"));
}

public sealed class SqliteAppContext : KitTarget
{
    public override EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider) =>
        CreateOnAppContext<AppDbContext>(db => db.UseSqlite(Databases.Sqlite), options, timeProvider);

    public override void AddBackend(ISessionsBuilder builder)
    {
        var database = Databases.Sqlite;
        AddOnAppContext<AppDbContext>(builder, db => db.UseSqlite(database));
    }

    public override ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteAsync(new SqliteConnection(Databases.Sqlite), AppDbContext.SessionsTable, "key", key, cancellationToken);

    public override EFCoreSessionBackend CreateUnreachable() =>
        CreateOnAppContext<AppDbContext>(db => db.UseSqlite($"Data Source={Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "sessions.db")}"), null, null);
}

public sealed class PostgresInternal : KitTarget
{
    public override EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider) =>
        EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres), options, timeProvider);

    public override void AddBackend(ISessionsBuilder builder)
    {
        var database = Databases.Postgres;
        builder.AddEFCoreBackend(db => db.UseNpgsql(database));
    }

    public override ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteAsync(new NpgsqlConnection(Databases.Postgres), "sessions", "key", key, cancellationToken);

    // A loopback port nothing listens on.
    public override EFCoreSessionBackend CreateUnreachable() =>
        EFCoreSessionBackend.Create(db => db.UseNpgsql($"Host=127.0.0.1;Port={ServerProcess.FreeLoopbackPort()};Username=postgres;Timeout=2"));
}

public sealed class PostgresAppContext : KitTarget
{
    public override EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider) =>
        CreateOnAppContext<AppDbContext>(db => db.UseNpgsql(Databases.Postgres), options, timeProvider);

    public override void AddBackend(ISessionsBuilder builder)
    {
        var database = Databases.Postgres;
        AddOnAppContext<AppDbContext>(builder, db => db.UseNpgsql(database));
    }

    public override ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteAsync(new NpgsqlConnection(Databases.Postgres), AppDbContext.SessionsTable, "key", key, cancellationToken);

    public override EFCoreSessionBackend CreateUnreachable() =>
        CreateOnAppContext<AppDbContext>(db => db.UseNpgsql($"Host=127.0.0.1;Port={ServerProcess.FreeLoopbackPort()};Username=postgres;Timeout=2"), null, null);
}

public sealed class SqlServerInternal : KitTarget
{
    public override EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider) =>
        EFCoreSessionBackend.Create(db => db.UseSqlServer(SqlServerDatabase.ConnectionString), options, timeProvider);

    public override void AddBackend(ISessionsBuilder builder)
    {
        var database = SqlServerDatabase.ConnectionString;
        builder.AddEFCoreBackend(db => db.UseSqlServer(database));
    }

    public override ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteAsync(new SqlConnection(SqlServerDatabase.ConnectionString), "sessions", "[key]", key, cancellationToken);

    public override EFCoreSessionBackend CreateUnreachable() =>
        EFCoreSessionBackend.Create(db => db.UseSqlServer(SqlServerDatabase.Unreachable()));
}

public sealed class SqlServerAppContext : KitTarget
{
    public override EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider) =>
        CreateOnAppContext<AppDbContext>(db => db.UseSqlServer(SqlServerDatabase.ConnectionString), options, timeProvider);

    public override void AddBackend(ISessionsBuilder builder)
    {
        var database = SqlServerDatabase.ConnectionString;
        AddOnAppContext<AppDbContext>(builder, db => db.UseSqlServer(database));
    }

    public override ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteAsync(new SqlConnection(SqlServerDatabase.ConnectionString), AppDbContext.SessionsTable, "[key]", key, cancellationToken);

    public override EFCoreSessionBackend CreateUnreachable() =>
        CreateOnAppContext<AppDbContext>(db => db.UseSqlServer(SqlServerDatabase.Unreachable()), null, null);
}

[TestFixture] public sealed class SqliteBackendKit : EFCoreBackendKit<SqliteInternal>;
[TestFixture] public sealed class SqliteKeyEnumeratorKit : EFCoreKeyEnumeratorKit<SqliteInternal>;
[TestFixture] public sealed class SqlitePurgerKit : EFCorePurgerKit<SqliteInternal>;
[TestFixture] public sealed class SqliteHealthProbeKit : EFCoreHealthProbeKit<SqliteInternal>;
[TestFixture] public sealed class SqliteBehaviourKit : EFCoreBehaviourKit<SqliteInternal>;
[TestFixture] public sealed class SqliteAppContextBackendKit : EFCoreBackendKit<SqliteAppContext>;
[TestFixture] public sealed class SqliteAppContextKeyEnumeratorKit : EFCoreKeyEnumeratorKit<SqliteAppContext>;
[TestFixture] public sealed class SqliteAppContextPurgerKit : EFCorePurgerKit<SqliteAppContext>;
[TestFixture] public sealed class SqliteAppContextHealthProbeKit : EFCoreHealthProbeKit<SqliteAppContext>;
[TestFixture] public sealed class SqliteAppContextBehaviourKit : EFCoreBehaviourKit<SqliteAppContext>;
[TestFixture] public sealed class PostgresBackendKit : EFCoreBackendKit<PostgresInternal>;
[TestFixture] public sealed class PostgresKeyEnumeratorKit : EFCoreKeyEnumeratorKit<PostgresInternal>;
[TestFixture] public sealed class PostgresPurgerKit : EFCorePurgerKit<PostgresInternal>;
[TestFixture] public sealed class PostgresHealthProbeKit : EFCoreHealthProbeKit<PostgresInternal>;
[TestFixture] public sealed class PostgresBehaviourKit : EFCoreBehaviourKit<PostgresInternal>;
[TestFixture] public sealed class PostgresAppContextBackendKit : EFCoreBackendKit<PostgresAppContext>;
[TestFixture] public sealed class PostgresAppContextKeyEnumeratorKit : EFCoreKeyEnumeratorKit<PostgresAppContext>;
[TestFixture] public sealed class PostgresAppContextPurgerKit : EFCorePurgerKit<PostgresAppContext>;
[TestFixture] public sealed class PostgresAppContextHealthProbeKit : EFCoreHealthProbeKit<PostgresAppContext>;
[TestFixture] public sealed class PostgresAppContextBehaviourKit : EFCoreBehaviourKit<PostgresAppContext>;
[TestFixture] public sealed class SqlServerBackendKit : EFCoreBackendKit<SqlServerInternal>;
[TestFixture] public sealed class SqlServerKeyEnumeratorKit : EFCoreKeyEnumeratorKit<SqlServerInternal>;
[TestFixture] public sealed class SqlServerPurgerKit : EFCorePurgerKit<SqlServerInternal>;
[TestFixture] public sealed class SqlServerHealthProbeKit : EFCoreHealthProbeKit<SqlServerInternal>;
[TestFixture] public sealed class SqlServerBehaviourKit : EFCoreBehaviourKit<SqlServerInternal>;
[TestFixture] public sealed class SqlServerAppContextBackendKit : EFCoreBackendKit<SqlServerAppContext>;
[TestFixture] public sealed class SqlServerAppContextBehaviourKit : EFCoreBehaviourKit<SqlServerAppContext>;
