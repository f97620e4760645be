using Microsoft.EntityFrameworkCore;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.EFCore.Tests.Support;

namespace Sessions.EFCore.Tests.Conformance;

// The EF Core backend against the conformance kit, on a SQLite file and on PostgreSQL 15. Every call to
// CreateBackendAsync returns a new backend (the kit disposes it); all of them share the database created by the
// assembly's one-time set-up, as two app servers would.
// [TestFixture] matters: NUnit runs only assemblies that reference nunit.framework, and a bare subclass does not.

[TestFixture]
public sealed class SqliteSessionBackendConformanceTests : SessionBackendConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite)));

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteSqliteAsync(Databases.Sqlite, key, cancellationToken);
}

[TestFixture]
public sealed class SqliteSessionKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite)));
}

[TestFixture]
public sealed class SqliteExpiredSessionPurgerConformanceTests : ExpiredSessionPurgerConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite)));
}

[TestFixture]
public sealed class PostgresSessionBackendConformanceTests : SessionBackendConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres)));

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WritePostgresAsync(Databases.Postgres, key, cancellationToken);
}

[TestFixture]
public sealed class PostgresSessionKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres)));
}

[TestFixture]
public sealed class PostgresExpiredSessionPurgerConformanceTests : ExpiredSessionPurgerConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres)));
}

[TestFixture]
public sealed class EFCoreConformanceCompletenessTests : ConformanceCompletenessTests
{
}
