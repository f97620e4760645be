using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.EFCore.Tests.Support;

namespace Sessions.EFCore.Tests.Conformance;

// The behaviour table over HTTP with the EF Core backend registered as an app would (AddEFCoreBackend). The backend
// takes its clock from DI, so the timeout rows run on the kit's manual clock.

[TestFixture]
public sealed class SqliteBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    protected override void AddBackend(ISessionsBuilder builder)
    {
        var database = Databases.Sqlite;
        builder.AddEFCoreBackend(db => db.UseSqlite(database));
    }

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteSqliteAsync(Databases.Sqlite, key, cancellationToken);
}

[TestFixture]
public sealed class PostgresBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    protected override void AddBackend(ISessionsBuilder builder)
    {
        var database = Databases.Postgres;
        builder.AddEFCoreBackend(db => db.UseNpgsql(database));
    }

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WritePostgresAsync(Databases.Postgres, key, cancellationToken);
}
