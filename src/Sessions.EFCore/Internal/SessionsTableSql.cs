using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Sessions.EFCore.Internal;

/// <summary>
/// The statements EF Core cannot express (upserts, the batched purge), written once from the model's table and column
/// names so that a renamed table or schema is honoured. The SQL is the same on SQLite (3.24+) and PostgreSQL (9.5+):
/// both accept <c>INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE</c> and <c>DELETE ... WHERE key IN (SELECT ... LIMIT n)</c>.
/// </summary>
internal sealed class SessionsTableSql
{
    private const string SqliteProvider = "Microsoft.EntityFrameworkCore.Sqlite";
    private const string NpgsqlProvider = "Npgsql.EntityFrameworkCore.PostgreSQL";

    private SessionsTableSql(DatabaseKind kind, string tableName, string? schema, string table, string key, string payload, string expiresAt, string version)
    {
        Kind = kind;
        TableName = tableName;
        Schema = kind == DatabaseKind.Sqlite ? null : schema;
        Table = table;
        var insert = $"INSERT INTO {table} AS cur ({key}, {payload}, {expiresAt}, {version}) VALUES ({{0}}, {{1}}, {{2}}, {{3}}) " +
                     $"ON CONFLICT ({key}) DO UPDATE SET {payload} = excluded.{payload}, {expiresAt} = excluded.{expiresAt}, {version} = excluded.{version}";
        UpsertAlways = insert;

        // An expired row under the key counts as absent: it is replaced in the same statement, and a live one is left alone
        // (0 rows affected). Concurrent callers serialise on the key's row lock, so exactly one of them writes.
        UpsertIfAbsent = insert + $" WHERE cur.{expiresAt} <= {{4}}";
        PurgeBatch = $"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {expiresAt} <= {{0}} LIMIT {{1}})";
    }

    public DatabaseKind Kind { get; }

    public string TableName { get; }

    public string? Schema { get; }

    /// <summary>The table's delimited, schema-qualified name.</summary>
    public string Table { get; }

    /// <summary>Parameters: key, payload, expires-at, version.</summary>
    public string UpsertAlways { get; }

    /// <summary>Parameters: key, payload, expires-at, version, now.</summary>
    public string UpsertIfAbsent { get; }

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
            tableName,
            schema,
            kind == DatabaseKind.Sqlite ? sql.DelimitIdentifier(tableName) : sql.DelimitIdentifier(tableName, schema),
            Column(nameof(SessionEntity.Key)),
            Column(nameof(SessionEntity.Payload)),
            Column(nameof(SessionEntity.ExpiresAtUnixMilliseconds)),
            Column(nameof(SessionEntity.Version)));
    }
}
