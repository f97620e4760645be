using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.EFCore.Tests.Migrations;
using Sessions.EFCore.Tests.Support;

namespace Sessions.EFCore.Tests.Conformance;

// The kit on EF Core 9 and Pomelo 9.0.0 against MariaDB 10.11, through the backend's internal context and through the
// app's own AppDbContext.

public sealed class MariaDbInternal : KitTarget
{
    public override EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider)
    {
        var database = Databases.MariaDb;
        return EFCoreSessionBackend.Create(db => Databases.Use(db, database), options, timeProvider);
    }

    public override void AddBackend(ISessionsBuilder builder)
    {
        var database = Databases.MariaDb;
        builder.AddEFCoreBackend(db => Databases.Use(db, database));
    }

    public override ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteAsync(new MySqlConnection(Databases.MariaDb), "sessions", "`key`", key, cancellationToken);

    public override EFCoreSessionBackend CreateUnreachable() => EFCoreSessionBackend.Create(db => Databases.Use(db, Unreachable()));

    internal static string Unreachable() => $"Server=127.0.0.1;Port={ServerProcess.FreeLoopbackPort()};User=root;Password=x;Connection Timeout=2";
}

public sealed class MariaDbAppContext : KitTarget
{
    public override EFCoreSessionBackend Create(EFCoreSessionBackendOptions? options, TimeProvider? timeProvider)
    {
        var database = Databases.MariaDb;
        return CreateOnAppContext<AppDbContext>(db => Databases.Use(db, database), options, timeProvider);
    }

    public override void AddBackend(ISessionsBuilder builder)
    {
        var database = Databases.MariaDb;
        AddOnAppContext<AppDbContext>(builder, db => Databases.Use(db, database));
    }

    public override ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        UnreadableRows.WriteAsync(new MySqlConnection(Databases.MariaDb), AppDbContext.SessionsTable, "`key`", key, cancellationToken);

    public override EFCoreSessionBackend CreateUnreachable() => CreateOnAppContext<AppDbContext>(db => Databases.Use(db, MariaDbInternal.Unreachable()), null, null);
}

[TestFixture] public sealed class MariaDbBackendKit : EFCoreBackendKit<MariaDbInternal>;
[TestFixture] public sealed class MariaDbKeyEnumeratorKit : EFCoreKeyEnumeratorKit<MariaDbInternal>;
[TestFixture] public sealed class MariaDbPurgerKit : EFCorePurgerKit<MariaDbInternal>;
[TestFixture] public sealed class MariaDbHealthProbeKit : EFCoreHealthProbeKit<MariaDbInternal>;
[TestFixture] public sealed class MariaDbBehaviourKit : EFCoreBehaviourKit<MariaDbInternal>;
[TestFixture] public sealed class MariaDbAppContextBackendKit : EFCoreBackendKit<MariaDbAppContext>;
[TestFixture] public sealed class MariaDbAppContextKeyEnumeratorKit : EFCoreKeyEnumeratorKit<MariaDbAppContext>;
[TestFixture] public sealed class MariaDbAppContextPurgerKit : EFCorePurgerKit<MariaDbAppContext>;
[TestFixture] public sealed class MariaDbAppContextHealthProbeKit : EFCoreHealthProbeKit<MariaDbAppContext>;
[TestFixture] public sealed class MariaDbAppContextBehaviourKit : EFCoreBehaviourKit<MariaDbAppContext>;
