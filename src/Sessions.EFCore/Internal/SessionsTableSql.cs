using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Sessions.EFCore.Internal;

/// <summary>
/// Every statement the backend runs on its hot path (read, the three conditional writes, touch, remove) and the batched
/// purge, written once from the model's table and column names (so that a renamed table or schema is honoured) with the
/// provider's quoting and parameter style: PostgreSQL's positional <c>$1</c>, which Npgsql sends without rewriting the
/// text, and SQLite's <c>@p1</c>. The SQL is otherwise the same on SQLite (3.24+) and PostgreSQL (9.5+): both accept
/// <c>INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE</c> and <c>DELETE ... WHERE key IN (SELECT ... LIMIT n)</c>.
/// </summary>
internal sealed class SessionsTableSql
{
    private const string SqliteProvider = "Microsoft.EntityFrameworkCore.Sqlite";
    private const string NpgsqlProvider = "Npgsql.EntityFrameworkCore.PostgreSQL";

    private SessionsTableSql(DatabaseKind kind, int? commandTimeout, string tableName, string? schema, string table, string key, string payload, string expiresAt, string version)
    {
        Kind = kind;
        CommandTimeout = commandTimeout;
        TableName = tableName;
        Schema = kind == DatabaseKind.Sqlite ? null : schema;
        Table = table;
        string P(int position) => kind == DatabaseKind.PostgreSql ? $"${position}" : $"@p{position}";

        // Parameters are positional, in the order each statement's summary lists them.
        Get = $"SELECT {payload}, {expiresAt}, {version} FROM {table} WHERE {key} = {P(1)} AND {expiresAt} > {P(2)}";
        var insert = $"INSERT INTO {table} AS cur ({key}, {payload}, {expiresAt}, {version}) VALUES ({P(1)}, {P(2)}, {P(3)}, {P(4)}) " +
                     $"ON CONFLICT ({key}) DO UPDATE SET {payload} = excluded.{payload}, {expiresAt} = excluded.{expiresAt}, {version} = excluded.{version}";
        UpsertAlways = insert;

        // An expired row under the key counts as absent: it is replaced in the same statement, and a live one is left alone
        // (0 rows affected). Concurrent callers serialise on the key's row lock, so exactly one of them writes.
        UpsertIfAbsent = insert + $" WHERE cur.{expiresAt} <= {P(5)}";
        UpdateIfVersion = $"UPDATE {table} SET {payload} = {P(2)}, {expiresAt} = {P(3)}, {version} = {P(4)} " +
                          $"WHERE {key} = {P(1)} AND {expiresAt} > {P(5)} AND {version} = {P(6)}";
        Touch = $"UPDATE {table} SET {expiresAt} = {P(2)} WHERE {key} = {P(1)} AND {expiresAt} > {P(3)}";
        Remove = $"DELETE FROM {table} WHERE {key} = {P(1)} AND {expiresAt} > {P(2)}";
        RemoveIfVersion = Remove + $" AND {version} = {P(3)}";
        // The outer expiry check matters: PostgreSQL re-checks only the outer WHERE on a row changed after the subquery's
        // snapshot, so without it a session re-created live while the purge runs would be deleted.
        PurgeBatch = $"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {expiresAt} <= {P(1)} LIMIT {P(2)}) AND {expiresAt} <= {P(1)}";
    }

    public DatabaseKind Kind { get; }

    /// <summary>The context's command timeout in seconds, for every command; <see langword="null"/> for the provider's default.</summary>
    public int? CommandTimeout { get; }

    public string TableName { get; }

    public string? Schema { get; }

    /// <summary>The table's delimited, schema-qualified name.</summary>
    public string Table { get; }

    /// <summary>The live row's payload, expiry and version. Parameters: key, now.</summary>
    public string Get { get; }

    /// <summary>Parameters: key, payload, expires-at, version.</summary>
    public string UpsertAlways { get; }

    /// <summary>Parameters: key, payload, expires-at, version, now.</summary>
    public string UpsertIfAbsent { get; }

    /// <summary>Parameters: key, payload, expires-at, version, now, expected version.</summary>
    public string UpdateIfVersion { get; }

    /// <summary>Parameters: key, expires-at, now.</summary>
    public string Touch { get; }

    /// <summary>Parameters: key, now.</summary>
    public string Remove { get; }

    /// <summary>Parameters: key, now, expected version.</summary>
    public string RemoveIfVersion { get; }

    /// <summary>Parameters: now, batch size.</summary>
    public string PurgeBatch { get; }

    public static DatabaseKind KindOf(DbContext context)
    {
        var provider = context.Database.ProviderName;
        return provider switch
        {
            SqliteProvider => DatabaseKind.Sqlite,
            NpgsqlProvider => DatabaseKind.PostgreSql,
            _ => throw new NotSupportedException(
                $"Sessions.EFCore supports SQLite ({SqliteProvider}) and PostgreSQL ({NpgsqlProvider}); {context.GetType().Name} uses '{provider}'."),
        };
    }

    public static SessionsTableSql For(DbContext context)
    {
        var kind = KindOf(context);
        var entity = context.Model.FindEntityType(typeof(SessionEntity))
            ?? throw new InvalidOperationException(
                $"{context.GetType().Name} does not map the sessions table: call modelBuilder.AddSessions() in its OnModelCreating, then add a migration.");
        var tableName = entity.GetTableName()
            ?? throw new InvalidOperationException($"{context.GetType().Name} maps SessionEntity to something other than a table; map it with modelBuilder.AddSessions().");
        var schema = entity.GetSchema();
        var store = StoreObjectIdentifier.Table(tableName, schema);
        var sql = context.GetService<ISqlGenerationHelper>();

        string Column(string property) => sql.DelimitIdentifier(entity.FindProperty(property)!.GetColumnName(store)!);

        return new SessionsTableSql(
            kind,
            context.Database.GetCommandTimeout(),
            tableName,
            schema,
            kind == DatabaseKind.Sqlite ? sql.DelimitIdentifier(tableName) : sql.DelimitIdentifier(tableName, schema),
            Column(nameof(SessionEntity.Key)),
            Column(nameof(SessionEntity.Payload)),
            Column(nameof(SessionEntity.ExpiresAtUnixMilliseconds)),
            Column(nameof(SessionEntity.Version)));
    }
}
