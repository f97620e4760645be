using System.Data;
using System.Data.Common;
using System.Globalization;

namespace Sessions.EFCore.Internal;

/// <summary>
/// One of <see cref="SessionsTableSql"/>'s statements as a plain ADO.NET command on an open connection, outside EF Core's
/// query pipeline: parameters are added in the statement's order with explicit types, and on PostgreSQL the statement is
/// prepared (unless <see cref="EFCoreSessionBackendOptions.PrepareStatements"/> is off), which Npgsql does once per physical
/// connection and remembers across pooled opens, so the server parses and plans each statement once rather than on every call.
/// </summary>
internal sealed class SessionCommand : IAsyncDisposable
{
    private readonly DbCommand _command;
    private readonly DatabaseKind _kind;
    private readonly bool _prepare;

    public SessionCommand(DbConnection connection, DatabaseKind kind, string sql, int? timeoutSeconds, bool prepare)
    {
        _kind = kind;
        _prepare = prepare;
        _command = connection.CreateCommand();
        _command.CommandText = sql;
        if (timeoutSeconds is { } timeout)
        {
            _command.CommandTimeout = timeout;
        }
    }

    public SessionCommand With(string value) => With(DbType.String, value);

    public SessionCommand With(byte[] value) => With(DbType.Binary, value);

    public SessionCommand With(long value) => With(DbType.Int64, value);

    public async Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken)
    {
        await PrepareAsync(cancellationToken).ConfigureAwait(false);
        return await _command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<DbDataReader> ExecuteReaderAsync(CancellationToken cancellationToken)
    {
        await PrepareAsync(cancellationToken).ConfigureAwait(false);
        return await _command.ExecuteReaderAsync(CommandBehavior.SingleRow, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _command.DisposeAsync();

    private Task PrepareAsync(CancellationToken cancellationToken) => _prepare ? _command.PrepareAsync(cancellationToken) : Task.CompletedTask;

    private SessionCommand With(DbType type, object value)
    {
        var parameter = _command.CreateParameter();

        // PostgreSQL's placeholders are positional ($1, $2, ...) and its parameters unnamed; SQLite's are named @p1, @p2, ...
        if (_kind == DatabaseKind.Sqlite)
        {
            parameter.ParameterName = string.Create(CultureInfo.InvariantCulture, $"@p{_command.Parameters.Count + 1}");
        }

        parameter.DbType = type;
        parameter.Value = value;
        _command.Parameters.Add(parameter);
        return this;
    }
}
