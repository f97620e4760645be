using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;

namespace Sessions.EFCore.Tests.Conformance;

/// <summary>
/// One database, reached one way, that the whole kit runs against: the backend's internal context, or an app's own
/// <c>DbContext</c> that maps the table with <c>modelBuilder.AddSessions()</c>. Every backend a target creates shares one
/// table, as two app servers would. Shared by the EF Core 10 tests (SQLite, PostgreSQL, SQL Server) and the EF Core 9 tests
/// (MariaDB); each provider's targets live in its project.
/// </summary>
public abstract class KitTarget
{
    /// <summary>A new backend on the shared table.</summary>
    public abstract EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider);

    /// <summary>Registers the backend the way an app would (<c>AddEFCoreBackend(db =&gt; ...)</c> or <c>AddEFCoreBackend&lt;TContext&gt;()</c>).</summary>
    public abstract void AddBackend(ISessionsBuilder builder);

    /// <summary>Plants a row under <paramref name="key"/> that is no session record, bypassing the backend.</summary>
    public abstract ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken);

    /// <summary>A backend on a server that is not there (a loopback port nothing listens on).</summary>
    public abstract EFCoreSessionBackend CreateUnreachable();

    /// <summary>A backend on the app's own context type, from a pooled factory over <paramref name="configure"/>.</summary>
    protected static EFCoreSessionBackend CreateOnAppContext<TContext>(Action<DbContextOptionsBuilder> configure, EFCoreSessionBackendOptions? options, TimeProvider? timeProvider)
        where TContext : DbContext
    {
        var builder = new DbContextOptionsBuilder<TContext>();
        configure(builder);
        return EFCoreSessionBackend.Create(new PooledDbContextFactory<TContext>(builder.Options), options, timeProvider);
    }

    /// <summary>Registers the app's pooled context factory and the backend on it, as an app with its own context does.</summary>
    protected static void AddOnAppContext<TContext>(ISessionsBuilder builder, Action<DbContextOptionsBuilder> configure)
        where TContext : DbContext
    {
        builder.Services.AddPooledDbContextFactory<TContext>(configure);
        builder.AddEFCoreBackend<TContext>();
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
