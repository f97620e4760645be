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

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) =>
        new(EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite), null, timeProvider));
}

[TestFixture]
public sealed class SqliteSessionKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite), KitOptions.SmallPages));

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) =>
        new(EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite), KitOptions.SmallPages, timeProvider));
}

[TestFixture]
public sealed class SqliteExpiredSessionPurgerConformanceTests : ExpiredSessionPurgerConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite), KitOptions.SmallPages));

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) =>
        new(EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite), KitOptions.SmallPages, timeProvider));
}

[TestFixture]
public sealed class PostgresSessionBackendConformanceTests : SessionBackendConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres)));

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WritePostgresAsync(Databases.Postgres, key, cancellationToken);

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) =>
        new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres), null, timeProvider));
}

[TestFixture]
public sealed class PostgresSessionKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres), KitOptions.SmallPages));

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) =>
        new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres), KitOptions.SmallPages, timeProvider));
}

[TestFixture]
public sealed class PostgresExpiredSessionPurgerConformanceTests : ExpiredSessionPurgerConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres), KitOptions.SmallPages));

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) =>
        new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres), KitOptions.SmallPages, timeProvider));
}

[TestFixture]
public sealed class SqliteHealthProbeConformanceTests : SessionBackendHealthProbeConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseSqlite(Databases.Sqlite)));

    // A database file in a directory that does not exist: SQLite cannot open it.
    protected override ValueTask<ISessionBackend> CreateUnreachableBackendAsync() =>
        new(EFCoreSessionBackend.Create(db => db.UseSqlite($"Data Source={Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "sessions.db")}")));
}

[TestFixture]
public sealed class PostgresHealthProbeConformanceTests : SessionBackendHealthProbeConformanceTests
{
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(EFCoreSessionBackend.Create(db => db.UseNpgsql(Databases.Postgres)));

    // A loopback port nothing listens on.
    protected override ValueTask<ISessionBackend> CreateUnreachableBackendAsync() =>
        new(EFCoreSessionBackend.Create(db => db.UseNpgsql($"Host=127.0.0.1;Port={ServerProcess.FreeLoopbackPort()};Username=postgres;Timeout=2")));
}

/// <summary>Options for the capability fixtures: pages and purge batches small enough that the kit's 260 to 600 records span several.</summary>
internal static class KitOptions
{
    public static EFCoreSessionBackendOptions SmallPages => new() { PurgeBatchSize = 50, EnumerationPageSize = 50 };
}

[TestFixture]
public sealed class EFCoreConformanceCompletenessTests : ConformanceCompletenessTests
{
}
