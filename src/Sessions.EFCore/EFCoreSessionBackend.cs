using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Sessions.Backends;
using Sessions.EFCore.Internal;

namespace Sessions.EFCore;

/// <summary>
/// Stores sessions in a SQL table through Entity Framework Core, on any relational provider (tested on SQLite, PostgreSQL,
/// MariaDB through Pomelo, and SQL Server). Every operation is one short statement on the connection of one pooled context:
/// reads, inserts and the conditional updates as plain parameterized SQL written once from the EF Core model with the
/// provider's own quoting (prepared on PostgreSQL), removes and the purge through <c>ExecuteDeleteAsync</c>. Conditional
/// writes carry the version and expiry in their <c>WHERE</c> clause and an insert relies on the primary key, so concurrent
/// writers are decided by the database.
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

    // How often a write that meets a racing insert or delete of its key goes round again (insert, then update, and so on).
    private const int MaxWriteRounds = 8;

    // From the first context: every context of one backend has the same model and options.
    private SessionStatements? _sql;
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
    /// <paramref name="configureDatabase"/> chooses (<c>db =&gt; db.UseSqlite(...)</c>, <c>UseNpgsql</c>, <c>UseMySql</c>, <c>UseSqlServer</c>: any relational EF Core provider the app references).
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
                await using var command = Command(connection, sql, sql.Get).WithKey(key).With(now);
                var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadRecord(reader, key) : null;
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="SetConditionKind.IfAbsent"/> inserts, and a duplicate key means a row holds the key: it is then replaced
    /// only if it has expired (<c>UPDATE ... WHERE expires_at &lt;= now</c>). <see cref="SetConditionKind.Always"/> updates,
    /// and inserts when no row was there. Of racing writers the primary key and the row lock let exactly one succeed.
    /// </remarks>
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
                    for (var attempt = 1; ; attempt++)
                    {
                        if (await ExecuteAsync(Command(connection, sql, sql.Replace).WithKey(key).With(payload).With(expiresAt).With(version), ct).ConfigureAwait(false) > 0 ||
                            await TryInsertAsync(connection, sql, key, payload, expiresAt, version, ct).ConfigureAwait(false))
                        {
                            return true;
                        }

                        // The row appeared between the update and the insert; update it. Only a writer that deletes the key as
                        // often can make this lose again.
                        if (attempt == MaxWriteRounds)
                        {
                            throw new EFCoreSessionBackendException(
                                $"The session set of \"{key}\" lost {MaxWriteRounds} rounds in a row to writers that insert and delete the same key; it was not applied.")
                            { Operation = "set" };
                        }
                    }
                },
                cancellationToken).ConfigureAwait(false),
            SetConditionKind.IfAbsent => await RunAsync(
                "set",
                idempotent: false,
                async (_, connection, sql, ct) =>
                {
                    for (var attempt = 1; attempt <= MaxWriteRounds; attempt++)
                    {
                        if (await TryInsertAsync(connection, sql, key, payload, expiresAt, version, ct).ConfigureAwait(false) ||
                            await ExecuteAsync(Command(connection, sql, sql.ReplaceExpired).WithKey(key).With(payload).With(expiresAt).With(version).With(now), ct).ConfigureAwait(false) == 1)
                        {
                            return true;
                        }

                        // Neither: a live row holds the key (the usual case, and the answer), or the row was removed between
                        // the insert and the update, and the insert is worth one more try.
                        if (await ExistsAsync(connection, sql, key, now, ct).ConfigureAwait(false))
                        {
                            return false;
                        }
                    }

                    return false;
                },
                cancellationToken).ConfigureAwait(false),
            SetConditionKind.IfVersion => await RunAsync(
                "set",
                idempotent: false,
                (_, connection, sql, ct) => ExecuteAsync(
                    Command(connection, sql, sql.UpdateIfVersion).WithKey(key).With(payload).With(expiresAt).With(version).With(now).With(condition.ExpectedVersion),
                    ct,
                    affected => affected == 1),
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
            async (context, _, _, ct) =>
            {
                var live = context.Set<SessionEntity>().Where(s => s.Key == key && s.ExpiresAtUnixMilliseconds > now);
                if (expectedVersion is { } expected)
                {
                    live = live.Where(s => s.Version == expected);
                }

                return await live.ExecuteDeleteAsync(ct).ConfigureAwait(false) == 1;
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
            (_, connection, sql, ct) => ExecuteAsync(Command(connection, sql, sql.Touch).WithKey(key).With(until).With(now), ct, affected => affected == 1),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Pages through the primary key (<c>WHERE key &gt; @last ORDER BY key</c>, n rows), one short query per page.</remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var pageSize = _options.EnumerationPageSize;

        // Substring(0, n) == prefix rather than StartsWith: SQLite's LIKE ignores case; the key column compares bytes.
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
    /// each batch its own short statement, so a purge never locks much of the table at once. A batch reads the expiry of the
    /// n-th expired row along the expiry index, then deletes the rows that expired up to it with <c>ExecuteDeleteAsync</c>
    /// (n rows, more only when several share that expiry to the millisecond): the same two statements on every provider,
    /// and the delete checks expiry itself, so a session written live again meanwhile is never deleted.
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
                async (context, _, _, ct) =>
                {
                    var expired = context.Set<SessionEntity>().Where(s => s.ExpiresAtUnixMilliseconds <= now);
                    var last = await expired.AsNoTracking()
                        .OrderBy(s => s.ExpiresAtUnixMilliseconds)
                        .Skip(batch - 1)
                        .Select(s => (long?)s.ExpiresAtUnixMilliseconds)
                        .FirstOrDefaultAsync(ct)
                        .ConfigureAwait(false);
                    if (last is not { } until)
                    {
                        // Fewer than a batch are left: this is the last one.
                        return (Count: await expired.ExecuteDeleteAsync(ct).ConfigureAwait(false), Last: true);
                    }

                    var count = await expired.Where(s => s.ExpiresAtUnixMilliseconds <= until).ExecuteDeleteAsync(ct).ConfigureAwait(false);
                    return (Count: count, Last: false);
                },
                cancellationToken).ConfigureAwait(false);
            purged += deleted.Count;
            if (deleted.Last || deleted.Count == 0)
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
    private async Task<T> RunAsync<T>(string operation, bool idempotent, Func<DbContext, DbConnection, SessionStatements, CancellationToken, Task<T>> body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            cancellationToken.ThrowIfCancellationRequested();
            var lease = await _contexts(cancellationToken).ConfigureAwait(false);
            await using (lease.ConfigureAwait(false))
            {
                var context = lease.Context;
                var sql = _sql ??= SessionStatements.For(context);
                var connection = context.Database.GetDbConnection();
                var opened = false;
                try
                {
                    await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                    opened = true;
                    return await body(context, connection, sql, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (StoreErrors.ShouldWrap(ex, cancellationToken))
                {
                    var kind = DatabaseErrors.Classify(ex, opened);
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

    private SessionCommand Command(DbConnection connection, SessionStatements sql, string text) => new(connection, sql, text, _options.PrepareStatements);

    private static async Task<int> ExecuteAsync(SessionCommand command, CancellationToken cancellationToken)
    {
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<bool> ExecuteAsync(SessionCommand command, CancellationToken cancellationToken, Func<int, bool> success) =>
        success(await ExecuteAsync(command, cancellationToken).ConfigureAwait(false));

    // The insert of a key that a row (live or expired) already holds fails on the primary key: false, and nothing written.
    private async Task<bool> TryInsertAsync(DbConnection connection, SessionStatements sql, string key, byte[] payload, long expiresAt, long version, CancellationToken cancellationToken)
    {
        try
        {
            return await ExecuteAsync(Command(connection, sql, sql.Insert).WithKey(key).With(payload).With(expiresAt).With(version), cancellationToken).ConfigureAwait(false) == 1;
        }
        catch (DbException ex) when (DatabaseErrors.IsDuplicateKey(ex))
        {
            return false;
        }
    }

    private async Task<bool> ExistsAsync(DbConnection connection, SessionStatements sql, string key, long now, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, sql, sql.Get).WithKey(key).With(now);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static Exception Describe(string operation, Exception ex, FailureKind kind, int attempts, SessionStatements sql, DbConnection connection)
    {
        var where = DescribeDatabase(connection);
        if (DatabaseErrors.IsMissingTable(ex))
        {
            return new EFCoreSessionBackendException(
                $"The sessions table {sql.Table} does not exist in {where}. Sessions.EFCore never creates it silently: call " +
                "await app.Services.EnsureSessionsTableAsync() at start-up, or map it in your DbContext with modelBuilder.AddSessions() and apply a migration.",
                ex)
            { Operation = operation, Endpoint = where };
        }

        return kind switch
        {
            FailureKind.OutcomeUnknown => new EFCoreSessionBackendException(
                $"The connection to {where} failed while a session {operation} was running, so whether it was applied is unknown; it was not retried " +
                $"because repeating it could apply it twice. The caller may reload the session and try again. ({ex.Message})",
                ex)
            { Operation = operation, OutcomeUnknown = true, Endpoint = where },
            FailureKind.NotApplied => new EFCoreSessionBackendException(
                $"The session {operation} failed {attempts} time(s) on {where} with a transient error and was not applied; is the database up and " +
                $"reachable? ({ex.Message})",
                ex)
            { Operation = operation, Endpoint = where },
            _ => ex is NotSupportedException or InvalidOperationException
                ? ex
                : new EFCoreSessionBackendException($"The session {operation} failed on {where}: {ex.Message}", ex) { Operation = operation, Endpoint = where },
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
