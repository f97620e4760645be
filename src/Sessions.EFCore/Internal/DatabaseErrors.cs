using System.Collections.Concurrent;
using System.Data.Common;
using System.Net.Sockets;
using System.Reflection;

namespace Sessions.EFCore.Internal;

/// <summary>How a failed database call may be handled.</summary>
internal enum FailureKind
{
    /// <summary>Not transient: report it as it is.</summary>
    Permanent,

    /// <summary>Transient, and the statement certainly did not take effect (never sent, or rolled back): any operation may retry.</summary>
    NotApplied,

    /// <summary>Transient, but the statement may have taken effect (the connection broke while it ran): only idempotent operations may retry.</summary>
    OutcomeUnknown,
}

/// <summary>
/// Reads a provider's <see cref="DbException"/> without referencing any provider: the SQLSTATE where the provider reports
/// one (<see cref="DbException.SqlState"/>), otherwise the error number its exception type carries (<c>Number</c> on
/// MySqlConnector's <c>MySqlException</c> and SqlClient's <c>SqlException</c>, <c>SqliteErrorCode</c> and
/// <c>SqliteExtendedErrorCode</c> on <c>SqliteException</c>), read by property name, and <see cref="DbException.IsTransient"/>.
/// </summary>
internal static class DatabaseErrors
{
    // SQLSTATEs whose statement was rolled back whole: serialization_failure (also MySQL's deadlock), deadlock_detected,
    // lock_not_available, too_many_connections, cannot_connect_now (server starting).
    private static readonly HashSet<string> s_rolledBackStates = new(StringComparer.Ordinal) { "40001", "40P01", "55P03", "53300", "57P03" };

    // MySQL/MariaDB: 1213 deadlock (transaction rolled back), 1205 lock wait timeout (statement rolled back).
    private static readonly HashSet<int> s_mySqlRolledBack = [1213, 1205];

    // SQL Server: 1205 deadlock victim, 1222 lock request timeout: the statement was rolled back.
    private static readonly HashSet<int> s_sqlServerRolledBack = [1205, 1222];

    // SQL Server errors of a connection that failed or broke (SqlClient does not mark them transient): -2 client timeout,
    // 53/64/233/10053/10054/10060 network, 4060 database unavailable, 40197/40501/40613/49918-49920 Azure SQL busy or moving.
    private static readonly HashSet<int> s_sqlServerConnection = [-2, 53, 64, 233, 4060, 10053, 10054, 10060, 40197, 40501, 40613, 49918, 49919, 49920];

    private static readonly ConcurrentDictionary<(Type, string), PropertyInfo?> s_properties = new();

    /// <summary>The database families whose errors the backend reads.</summary>
    internal enum Family
    {
        Other,
        Sqlite,
        PostgreSql,
        MySql,
        SqlServer,
    }

    public static FailureKind Classify(Exception exception, bool connectionOpened)
    {
        var db = StoreErrors.Find<DbException>(exception);
        if (db is null)
        {
            // Timeouts and socket errors that the provider did not wrap.
            return exception is TimeoutException || StoreErrors.Find<SocketException>(exception) is not null
                ? connectionOpened ? FailureKind.OutcomeUnknown : FailureKind.NotApplied
                : FailureKind.Permanent;
        }

        if (db.SqlState is { } state && s_rolledBackStates.Contains(state))
        {
            return FailureKind.NotApplied;
        }

        var family = FamilyOf(db);
        switch (family)
        {
            case Family.Sqlite:
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6): another connection held the lock and the statement did not run.
                return Number(db, "SqliteErrorCode") is 5 or 6 || db.IsTransient ? FailureKind.NotApplied : FailureKind.Permanent;
            case Family.MySql when Number(db, "Number") is { } n && s_mySqlRolledBack.Contains(n):
            case Family.SqlServer when Number(db, "Number") is { } m && s_sqlServerRolledBack.Contains(m):
                return FailureKind.NotApplied;
        }

        var transient = db.IsTransient || (family == Family.SqlServer && Number(db, "Number") is { } number && s_sqlServerConnection.Contains(number));
        if (!transient)
        {
            return FailureKind.Permanent;
        }

        // The other transient errors are broken connections, which leave a statement that was sent in an unknown state.
        return connectionOpened ? FailureKind.OutcomeUnknown : FailureKind.NotApplied;
    }

    /// <summary>
    /// Whether the failure is a unique-key violation, which for the backend's insert means "a record is already stored under
    /// this key": SQLSTATE 23505 (PostgreSQL), SQLite's primary-key or unique constraint (extended codes 1555, 2067), MySQL and
    /// MariaDB error 1062, SQL Server errors 2627 and 2601.
    /// </summary>
    public static bool IsDuplicateKey(Exception exception)
    {
        if (StoreErrors.Find<DbException>(exception) is not { } db)
        {
            return false;
        }

        if (db.SqlState == "23505")
        {
            return true;
        }

        return FamilyOf(db) switch
        {
            Family.Sqlite => Number(db, "SqliteExtendedErrorCode") is 1555 or 2067,
            Family.MySql => Number(db, "Number") == 1062,
            Family.SqlServer => Number(db, "Number") is 2627 or 2601,
            _ => false,
        };
    }

    /// <summary>
    /// Whether the failure says the sessions table does not exist: SQLSTATE 42P01 (PostgreSQL) or 42S02 (MySQL, MariaDB),
    /// SQL Server error 208, SQLite's "no such table".
    /// </summary>
    public static bool IsMissingTable(Exception exception) =>
        StoreErrors.Find<DbException>(exception) is { } db &&
        (db.SqlState is "42P01" or "42S02" ||
         (FamilyOf(db) == Family.SqlServer && Number(db, "Number") == 208) ||
         (FamilyOf(db) == Family.Sqlite && db.Message.Contains("no such table", StringComparison.OrdinalIgnoreCase)));

    /// <summary>Which database an exception comes from, by its type's name (so that no provider is referenced).</summary>
    internal static Family FamilyOf(DbException exception) => exception.GetType().Name switch
    {
        "SqliteException" => Family.Sqlite,
        "PostgresException" or "NpgsqlException" => Family.PostgreSql,
        "MySqlException" => Family.MySql,
        "SqlException" => Family.SqlServer,
        _ => Family.Other,
    };

    private static int? Number(DbException exception, string property)
    {
        var info = s_properties.GetOrAdd((exception.GetType(), property), static key => key.Item1.GetProperty(key.Item2, BindingFlags.Public | BindingFlags.Instance));
        return info?.GetValue(exception) switch
        {
            int value => value,
            Enum value => Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture),
            _ => null,
        };
    }
}
