using MySqlConnector;
using NUnit.Framework;
using Sessions.Conformance;

namespace Sessions.EFCore.Tests.Conformance;

// The kit on EF Core 9 and Pomelo 9.0.0 against MariaDB 10.11, through the backend's internal context and through the
// app's own AppDbContext.

internal static class KitDatabases
{
    // Unreachable: a loopback port nothing listens on.
    public static readonly KitDatabase MariaDb = new(
        () => Databases.MariaDb,
        Databases.Use,
        cs => new MySqlConnection(cs),
        "`key`",
        () => $"Server=127.0.0.1;Port={ServerProcess.FreeLoopbackPort()};User=root;Password=x;Connection Timeout=2");
}

public sealed class MariaDbInternal() : KitTarget(KitDatabases.MariaDb, appContext: false);

public sealed class MariaDbAppContext() : KitTarget(KitDatabases.MariaDb, appContext: true);

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
