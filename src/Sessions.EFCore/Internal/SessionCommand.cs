using System.Data;
using System.Data.Common;
using Sessions.Backends;

namespace Sessions.EFCore.Internal;

/// <summary>
/// One of <see cref="SessionStatements"/>' statements as a plain ADO.NET command on an open connection, outside EF Core's
/// query pipeline: parameters are added in the statement's order with explicit types (the key as a non-Unicode string of
/// at most 250 characters, matching its <c>varchar(250)</c> column, so SQL Server can seek its index), and on PostgreSQL
/// the statement is prepared (unless <see cref="EFCoreSessionBackendOptions.PrepareStatements"/> is off), which Npgsql does
/// once per physical connection and remembers across pooled opens.
/// </summary>
internal sealed class SessionCommand : IAsyncDisposable
{
    private readonly DbCommand _command;
    private readonly SessionStatements _statements;
    private readonly bool _prepare;

    public SessionCommand(DbConnection connection, SessionStatements statements, string sql, bool prepare)
    {
        _statements = statements;
        _prepare = prepare && statements.Positional;
        _command = connection.CreateCommand();
        _command.CommandText = sql;
        if (statements.CommandTimeout is { } timeout)
        {
            _command.CommandTimeout = timeout;
        }
    }

    public SessionCommand WithKey(string value) => With(DbType.AnsiString, value, SessionKeys.MaxKeyLength);

    public SessionCommand With(byte[] value) => With(DbType.Binary, value, null);

    public SessionCommand With(long value) => With(DbType.Int64, value, null);

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

    private SessionCommand With(DbType type, object value, int? size)
    {
        var parameter = _command.CreateParameter();
        if (!_statements.Positional)
        {
            parameter.ParameterName = _statements.ParameterNames[_command.Parameters.Count];
        }

        parameter.DbType = type;
        if (size is { } s)
        {
            parameter.Size = s;
        }

        parameter.Value = value;
        _command.Parameters.Add(parameter);
        return this;
    }
}
