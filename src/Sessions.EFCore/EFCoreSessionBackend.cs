using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Sessions.Backends;
using Sessions.EFCore.Internal;

namespace Sessions.EFCore;

/// <summary>
/// Stores sessions in a SQL table through Entity Framework Core, on SQLite or PostgreSQL. Every operation is one statement
/// on the connection of one pooled context, written once from the EF Core model and run as a plain parameterized command
/// (prepared on PostgreSQL): conditional writes are a single <c>UPDATE ... WHERE version = @v</c> or an
/// <c>INSERT ... ON CONFLICT</c>, so concurrent writers are decided by the database's row locks.
/// </summary>
/// <remarks>
/// The table is never created behind your back: call <see cref="EnsureTableAsync"/> (or
/// <c>app.Services.EnsureSessionsTableAsync()</c>) at start-up, or map it in your own context with
/// <c>modelBuilder.AddSessions()</c> and apply a migration. Instances are safe for concurrent use.
/// </remarks>
public sealed class EFCoreSessionBackend : ISessionBackend, ISessionKeyEnumerator, IExpiredSessionPurger, ISessionBackendHealthProbe, IAsyncDisposable
{
    private readonly ContextSource _contexts;
    private readonly EFCoreSessionBackendOptions _options;
    private readonly TimeProvider _time;

    // From the first context: every context of one backend has the same model and options.
    private SessionsTableSql? _sql;
    private int _disposed;

    internal EFCoreSessionBackend(ContextSource contexts, EFCoreSessionBackendOptions? options, TimeProvider? timeProvider)
    {
        _contexts = contexts;
        _options = options ?? new EFCoreSessionBackendOptions();
        var errors = _options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// Creates a backend with its own internal context: the sessions table and nothing else, on the database that
    /// <paramref name="configureDatabase"/> chooses (<c>db =&gt; db.UseSqlite(...)</c> or <c>db =&gt; db.UseNpgsql(...)</c>).
    /// </summary>
    /// <param name="configureDatabase">Chooses the provider and connection.</param>
    /// <param name="options">Table name, schema, batch sizes and retries; <see langword="null"/> for defaults.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <returns>The backend. Dispose it when done.</returns>
    public static EFCoreSessionBackend Create(Action<DbContextOptionsBuilder> configureDatabase, EFCoreSessionBackendOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(configureDatabase);
        options ??= new EFCoreSessionBackendOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        var contextOptions = SessionsDbContext.BuildOptions(configureDatabase, options.TableName, options.Schema);
        var factory = new PooledDbContextFactory<SessionsDbContext>(contextOptions, options.ContextPoolSize);
        return new EFCoreSessionBackend(ContextSources.FromFactory(factory), options, timeProvider);
    }

    /// <summary>Creates a backend on an application's own context, whose model maps the table with <c>modelBuilder.AddSessions()</c>.</summary>
    /// <typeparam name="TContext">The application's context type.</typeparam>
    /// <param name="contextFactory">Creates contexts; a pooled factory (<c>AddPooledDbContextFactory</c>) is fastest.</param>
    /// <param name="options">Batch sizes and retries (the table name comes from the model); <see langword="null"/> for defaults.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <returns>The backend.</returns>
    public static EFCoreSessionBackend Create<TContext>(IDbContextFactory<TContext> contextFactory, EFCoreSessionBackendOptions? options = null, TimeProvider? timeProvider = null)
        where TContext : DbContext =>
        new(ContextSources.FromFactory(contextFactory), options, timeProvider);

    /// <inheritdoc />
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        var now = NowMilliseconds();
        return await RunAsync(
            "get",
            idempotent: true,
            async (_, connection, sql, ct) =>
            {
                await using var command = Command(connection, sql, sql.Get).With(key).With(now);
                var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadRecord(reader, key) : null;
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ArgumentNullException.ThrowIfNull(record);

        // The backend keeps its own copy: the caller may reuse its buffer once this returns.
        var payload = record.Payload.ToArray();
        var expiresAt = ToMilliseconds(record.ExpiresAt);
        var version = record.Version;
        var now = NowMilliseconds();
        return condition.Kind switch
        {
            SetConditionKind.Always => await RunAsync(
                "set",
                idempotent: true,
                async (_, connection, sql, ct) =>
                {
                    await using var command = Command(connection, sql, sql.UpsertAlways).With(key).With(payload).With(expiresAt).With(version);
                    return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
                },
                cancellationToken).ConfigureAwait(false),
            SetConditionKind.IfAbsent => await RunAsync(
                "set",
                idempotent: false,
                async (_, connection, sql, ct) =>
                {
                    await using var command = Command(connection, sql, sql.UpsertIfAbsent).With(key).With(payload).With(expiresAt).With(version).With(now);
                    return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
                },
                cancellationToken).ConfigureAwait(false),
            SetConditionKind.IfVersion => await RunAsync(
                "set",
                idempotent: false,
                async (_, connection, sql, ct) =>
                {
                    await using var command = Command(connection, sql, sql.UpdateIfVersion)
                        .With(key).With(payload).With(expiresAt).With(version).With(now).With(condition.ExpectedVersion);
                    return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
                },
                cancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(condition), condition, "Unknown SetCondition kind."),
        };
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        var now = NowMilliseconds();
        return await RunAsync(
            "remove",
            idempotent: false,
            async (_, connection, sql, ct) =>
            {
                await using var command = expectedVersion is { } expected
                    ? Command(connection, sql, sql.RemoveIfVersion).With(key).With(now).With(expected)
                    : Command(connection, sql, sql.Remove).With(key).With(now);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        var now = NowMilliseconds();
        var until = ToMilliseconds(expiresAt);
        return await RunAsync(
            "touch",
            idempotent: true,
            async (_, connection, sql, ct) =>
            {
                await using var command = Command(connection, sql, sql.Touch).With(key).With(until).With(now);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Pages through the primary key (<c>WHERE key &gt; @last ORDER BY key LIMIT n</c>), one short query per page.</remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var pageSize = _options.EnumerationPageSize;

        // substr(key, 1, n) = @prefix rather than StartsWith: SQLite's LIKE ignores case, and both compare substrings byte for byte.
        var prefixLength = prefix.Length;
        var after = string.Empty;
        while (true)
        {
            var now = NowMilliseconds();
            var last = after;
            var page = await RunAsync(
                "enumerate",
                idempotent: true,
                (context, _, _, ct) => context.Set<SessionEntity>()
                    .AsNoTracking()
                    .Where(s => s.ExpiresAtUnixMilliseconds > now && s.Key.Substring(0, prefixLength) == prefix && string.Compare(s.Key, last) > 0)
                    .OrderBy(s => s.Key)
                    .Select(s => s.Key)
                    .Take(pageSize)
                    .ToListAsync(ct),
                cancellationToken).ConfigureAwait(false);

            foreach (var key in page)
            {
                yield return key;
            }

            if (page.Count < pageSize)
            {
                yield break;
            }

            after = page[^1];
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Deletes in batches of <see cref="EFCoreSessionBackendOptions.PurgeBatchSize"/> rows found through the expiry index,
    /// each batch its own short statement, so a purge never locks much of the table at once.
    /// </remarks>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        var batch = _options.PurgeBatchSize;
        var now = NowMilliseconds();
        long purged = 0;
        while (true)
        {
            var deleted = await RunAsync(
                "purge",
                idempotent: true,
                async (_, connection, sql, ct) =>
                {
                    await using var command = Command(connection, sql, sql.PurgeBatch).With(now).With(batch);
                    return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
            purged += deleted;
            if (deleted < batch)
            {
                return purged;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask ProbeAsync(CancellationToken cancellationToken) =>
        await RunAsync(
            "probe",
            idempotent: true,
            async (_, connection, _, ct) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT 1";
                return await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Creates the sessions table and its expiry index if they do not exist, with the DDL EF Core's migrations would
    /// generate for the model. Safe to call on every start and from several processes at once. Not needed when the table
    /// travels with your own migrations.
    /// </summary>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns><see langword="true"/> when this call created the table; <see langword="false"/> when it already existed.</returns>
    public async Task<bool> EnsureTableAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await using var lease = await _contexts(cancellationToken).ConfigureAwait(false);
        return await SessionsTableCreator.EnsureCreatedAsync(lease.Context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks the backend disposed; later calls throw <see cref="ObjectDisposedException"/>. The table and its rows stay.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        return ValueTask.CompletedTask;
    }

    // The reader is not sequential, so ReadAsync has buffered the whole row and these reads do not touch the network.
#pragma warning disable CA1849
    // A row the table's schema allows but this backend did not write (a NULL, a value of another type, an expiry out of
    // range: another app, or a hand-edited table) is a corrupt record, not a database failure. Garbage bytes in the
    // payload come back as a record; the core judges those.
    private static SessionRecord ReadRecord(DbDataReader reader, string key)
    {
        try
        {
            return new(reader.GetFieldValue<byte[]>(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetInt64(2));
        }
        catch (Exception ex) when (ex is InvalidCastException or System.Data.SqlTypes.SqlNullValueException or ArgumentOutOfRangeException or FormatException or OverflowException)
        {
            throw new SessionRecordCorruptException($"The row for \"{key}\" cannot be read as a session record ({ex.Message}). Another application may be writing rows with the same key prefix; give sessions their own SessionOptions.KeyPrefix.", ex)
            {
                Key = key,
            };
        }
    }
#pragma warning restore CA1849

    private static long ToMilliseconds(DateTimeOffset instant) => instant.ToUnixTimeMilliseconds();

    private long NowMilliseconds() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // One operation on one borrowed context: opens the connection, runs the statement, and retries transient failures
    // only when that cannot apply a write twice (the statement never ran, or the operation is idempotent).
    // The connection is the context's own DbConnection, opened and closed here rather than through EF Core's connection
    // management: the hot-path statements are plain commands, and EF Core queries (the key listing) use an open connection as is.
    private async Task<T> RunAsync<T>(string operation, bool idempotent, Func<DbContext, DbConnection, SessionsTableSql, CancellationToken, Task<T>> body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            cancellationToken.ThrowIfCancellationRequested();
            var lease = await _contexts(cancellationToken).ConfigureAwait(false);
            await using (lease.ConfigureAwait(false))
            {
                var context = lease.Context;
                var sql = _sql ??= SessionsTableSql.For(context);
                var connection = context.Database.GetDbConnection();
                var opened = false;
                try
                {
                    await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                    opened = true;
                    return await body(context, connection, sql, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not SessionRecordCorruptException && (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
                {
                    var kind = TransientFailures.Classify(ex, sql.Kind, opened);
                    var retriable = kind == FailureKind.NotApplied || (kind == FailureKind.OutcomeUnknown && idempotent);
                    if (retriable && attempt < _options.MaxAttempts)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(25 * attempt * attempt), cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    throw Describe(operation, ex, kind, attempt, sql, connection);
                }
                finally
                {
                    if (opened)
                    {
                        await connection.CloseAsync().ConfigureAwait(false);
                    }
                }
            }
        }
    }

    private SessionCommand Command(DbConnection connection, SessionsTableSql sql, string text) =>
        new(connection, sql.Kind, text, sql.CommandTimeout, prepare: _options.PrepareStatements && sql.Kind == DatabaseKind.PostgreSql);

    private static Exception Describe(string operation, Exception ex, FailureKind kind, int attempts, SessionsTableSql sql, DbConnection connection)
    {
        var where = DescribeDatabase(connection);
        if (TransientFailures.IsMissingTable(ex))
        {
            return new EFCoreSessionBackendException(
                $"The sessions table {sql.Table} does not exist in {where}. Sessions.EFCore never creates it silently: call " +
                "await app.Services.EnsureSessionsTableAsync() at start-up, or map it in your DbContext with modelBuilder.AddSessions() and apply a migration.",
                ex)
            { Operation = operation };
        }

        return kind switch
        {
            FailureKind.OutcomeUnknown => new EFCoreSessionBackendException(
                $"The connection to {where} failed while a session {operation} was running, so whether it was applied is unknown; it was not retried " +
                $"because repeating it could apply it twice. The caller may reload the session and try again. ({ex.Message})",
                ex)
            { Operation = operation, OutcomeUnknown = true },
            FailureKind.NotApplied => new EFCoreSessionBackendException(
                $"The session {operation} failed {attempts} time(s) on {where} with a transient error and was not applied; is the database up and " +
                $"reachable? ({ex.Message})",
                ex)
            { Operation = operation },
            _ => ex is ObjectDisposedException or ArgumentException or NotSupportedException or InvalidOperationException
                ? ex
                : new EFCoreSessionBackendException($"The session {operation} failed on {where}: {ex.Message}", ex) { Operation = operation },
        };
    }

    private static string DescribeDatabase(DbConnection connection)
    {
        try
        {
            return string.IsNullOrEmpty(connection.Database) || connection.Database == "main"
                ? $"'{connection.DataSource}'"
                : $"'{connection.DataSource}' (database '{connection.Database}')";
        }
        catch (InvalidOperationException)
        {
            return "the sessions database";
        }
    }

}
