using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.EFCore.Tests.Migrations;
using Sessions.EFCore.Tests.Support;

namespace Sessions.EFCore.Tests.Conformance;

/// <summary>How the tests reach one database: its connection string (read when a test needs it, so that an absent server
/// is reported as ignored), the provider's <c>Use...</c>, a raw connection for planting rows, the quoted key column, and a
/// connection string for a server that is not there.</summary>
public sealed record KitDatabase(
    Func<string> ConnectionString,
    Action<DbContextOptionsBuilder, string> Use,
    Func<string, DbConnection> Connect,
    string KeyColumn,
    Func<string> Unreachable);

/// <summary>
/// One database, reached one way, that the whole kit runs against: the backend's internal context, or the app's own
/// <see cref="AppDbContext"/>, which maps the table with <c>modelBuilder.AddSessions()</c> (registered with
/// <c>AddPooledDbContextFactory</c> and <c>AddEFCoreBackend&lt;AppDbContext&gt;()</c>, as an app would). Every backend a
/// target creates shares one table, as two app servers would. Shared by the EF Core 10 tests (SQLite, PostgreSQL, SQL
/// Server) and the EF Core 9 tests (MariaDB); each provider's <see cref="KitDatabase"/> lives in its project.
/// </summary>
public abstract class KitTarget(KitDatabase database, bool appContext)
{
    /// <summary>A new backend on the shared table.</summary>
    public EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider) =>
        Create(database.ConnectionString(), options, timeProvider);

    /// <summary>Registers the backend the way an app would (<c>AddEFCoreBackend(db =&gt; ...)</c> or <c>AddEFCoreBackend&lt;AppDbContext&gt;()</c>).</summary>
    public void AddBackend(ISessionsBuilder builder)
    {
        var connectionString = database.ConnectionString();
        var use = database.Use;
        if (appContext)
        {
            builder.Services.AddPooledDbContextFactory<AppDbContext>(db => use(db, connectionString));
            builder.AddEFCoreBackend<AppDbContext>();
        }
        else
        {
            builder.AddEFCoreBackend(db => use(db, connectionString));
        }
    }

    /// <summary>Plants a row under <paramref name="key"/> that is no session record, bypassing the backend.</summary>
    public ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteAsync(database.Connect(database.ConnectionString()), appContext ? AppDbContext.SessionsTable : "sessions", database.KeyColumn, key, cancellationToken);

    /// <summary>A backend on a server that is not there.</summary>
    public EFCoreSessionBackend CreateUnreachable() => Create(database.Unreachable(), null, null);

    private EFCoreSessionBackend Create(string connectionString, EFCoreSessionBackendOptions? options, TimeProvider? timeProvider)
    {
        if (!appContext)
        {
            return EFCoreSessionBackend.Create(db => database.Use(db, connectionString), options, timeProvider);
        }

        var builder = new DbContextOptionsBuilder<AppDbContext>();
        database.Use(builder, connectionString);
        return EFCoreSessionBackend.Create(new PooledDbContextFactory<AppDbContext>(builder.Options), options, timeProvider);
    }
}

/// <summary>Options for the capability fixtures: pages and purge batches small enough that the kit's 260 to 600 records span several.</summary>
internal static class KitOptions
{
    public static EFCoreSessionBackendOptions SmallPages => new() { PurgeBatchSize = 50, EnumerationPageSize = 50 };
}

// The kit's fixtures over a target. [TestFixture] on each sealed subclass matters: NUnit runs only assemblies that
// reference nunit.framework, and a bare subclass does not.

public abstract class EFCoreBackendKit<TTarget> : SessionBackendConformanceTests
    where TTarget : KitTarget, new()
{
    private readonly TTarget _target = new();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_target.Create(null, null));

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => new(_target.Create(null, timeProvider));

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) => _target.WriteUnreadableAsync(key, cancellationToken);
}

public abstract class EFCoreKeyEnumeratorKit<TTarget> : SessionKeyEnumeratorConformanceTests
    where TTarget : KitTarget, new()
{
    private readonly TTarget _target = new();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_target.Create(KitOptions.SmallPages, null));

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => new(_target.Create(KitOptions.SmallPages, timeProvider));
}

public abstract class EFCorePurgerKit<TTarget> : ExpiredSessionPurgerConformanceTests
    where TTarget : KitTarget, new()
{
    private readonly TTarget _target = new();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_target.Create(KitOptions.SmallPages, null));

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => new(_target.Create(KitOptions.SmallPages, timeProvider));
}

public abstract class EFCoreHealthProbeKit<TTarget> : SessionBackendHealthProbeConformanceTests
    where TTarget : KitTarget, new()
{
    private readonly TTarget _target = new();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_target.Create(null, null));

    protected override ValueTask<ISessionBackend> CreateUnreachableBackendAsync() => new(_target.CreateUnreachable());
}

// The behaviour table over HTTP with the backend registered as an app would. The backend takes its clock from DI, so the
// timeout rows run on the kit's manual clock.
public abstract class EFCoreBehaviourKit<TTarget> : SessionBehaviourConformanceTests
    where TTarget : KitTarget, new()
{
    private readonly TTarget _target = new();

    protected override void AddBackend(ISessionsBuilder builder) => _target.AddBackend(builder);

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) => _target.WriteUnreadableAsync(key, cancellationToken);
}

[TestFixture]
public sealed class EFCoreConformanceCompletenessTests : ConformanceCompletenessTests
{
}
