using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.EFCore.Tests.Support;

namespace Sessions.EFCore.Tests.Conformance;

// The kit on EF Core 10: a SQLite file and PostgreSQL 15 (both set up by Databases), each through the backend's internal
// context and through the app's own AppDbContext; SQL Server only against the server SESSIONS_TEST_SQLSERVER names.

internal static class KitDatabases
{
    // A database file in a directory that does not exist: SQLite cannot open it.
    public static readonly KitDatabase Sqlite = new(
        () => Databases.Sqlite,
        (db, cs) => db.UseSqlite(cs),
        cs => new SqliteConnection(cs),
        "key",
        () => $"Data Source={Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "sessions.db")}");

    // Unreachable: a loopback port nothing listens on.
    public static readonly KitDatabase Postgres = new(
        () => Databases.Postgres,
        (db, cs) => db.UseNpgsql(cs),
        cs => new NpgsqlConnection(cs),
        "key",
        () => $"Host=127.0.0.1;Port={ServerProcess.FreeLoopbackPort()};Username=postgres;Timeout=2");

    public static readonly KitDatabase SqlServer = new(
        () => SqlServerDatabase.ConnectionString,
        (db, cs) => db.UseSqlServer(cs),
        cs => new SqlConnection(cs),
        "[key]",
        SqlServerDatabase.Unreachable);
}

public sealed class SqliteInternal() : KitTarget(KitDatabases.Sqlite, appContext: false);

public sealed class SqliteAppContext() : KitTarget(KitDatabases.Sqlite, appContext: true);

public sealed class PostgresInternal() : KitTarget(KitDatabases.Postgres, appContext: false);

public sealed class PostgresAppContext() : KitTarget(KitDatabases.Postgres, appContext: true);

public sealed class SqlServerInternal() : KitTarget(KitDatabases.SqlServer, appContext: false);

public sealed class SqlServerAppContext() : KitTarget(KitDatabases.SqlServer, appContext: true);

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
