using System.Data.Common;
using System.Net.Sockets;

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

/// <summary>Sorts database failures by whether retrying is safe, without referencing any provider's exception types.</summary>
internal static class TransientFailures
{
    // PostgreSQL SQLSTATEs whose statement was rolled back whole: serialization_failure, deadlock_detected,
    // lock_not_available, too_many_connections, cannot_connect_now (server starting), admin_shutdown before the statement.
    private static readonly HashSet<string> s_rolledBack = new(StringComparer.Ordinal) { "40001", "40P01", "55P03", "53300", "57P03" };

    public static FailureKind Classify(Exception exception, DatabaseKind database, bool connectionOpened)
    {
        var db = FindDbException(exception);
        if (db is null)
        {
            // Timeouts and socket errors that the provider did not wrap.
            return exception is TimeoutException || FindInner<SocketException>(exception) is not null
                ? connectionOpened ? FailureKind.OutcomeUnknown : FailureKind.NotApplied
                : FailureKind.Permanent;
        }

        if (db.SqlState is { } state && s_rolledBack.Contains(state))
        {
            return FailureKind.NotApplied;
        }

        if (database == DatabaseKind.Sqlite)
        {
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6): another connection held the lock and the statement did not run.
            // Read through the property's name so that the package does not depend on Microsoft.Data.Sqlite.
            var code = db.GetType().GetProperty("SqliteErrorCode")?.GetValue(db) as int?;
            return code is 5 or 6 || db.IsTransient ? FailureKind.NotApplied : FailureKind.Permanent;
        }

        if (!db.IsTransient)
        {
            return FailureKind.Permanent;
        }

        // PostgreSQL's other transient errors are broken connections, which leave a statement that was sent in an unknown state.
        return connectionOpened ? FailureKind.OutcomeUnknown : FailureKind.NotApplied;
    }

    /// <summary>Whether the failure says the sessions table does not exist (PostgreSQL 42P01, SQLite "no such table").</summary>
    public static bool IsMissingTable(Exception exception) =>
        FindDbException(exception) is { } db &&
        (db.SqlState == "42P01" || db.Message.Contains("no such table", StringComparison.OrdinalIgnoreCase));

    private static DbException? FindDbException(Exception exception) => FindInner<DbException>(exception);

    private static T? FindInner<T>(Exception exception)
        where T : Exception
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is T match)
            {
                return match;
            }
        }

        return null;
    }
}
