using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Sessions.EFCore.Internal;

/// <summary>
/// The hot path's statements (read, insert, the conditional updates, touch), written once from the EF Core model's table
/// and column names with the provider's own <see cref="ISqlGenerationHelper"/> for quoting and parameter names. They are
/// plain SQL-92 (<c>SELECT</c>, <c>INSERT ... VALUES</c>, <c>UPDATE ... WHERE</c>) with no dialect in them, so one text
/// serves every relational provider; whether a record already exists is decided by the primary key (a duplicate-key error
/// from the insert) and by the version and expiry in the <c>WHERE</c> clauses.
/// </summary>
/// <remarks>
/// Why not <c>ExecuteUpdateAsync</c>: its setter argument changed type between EF Core 9 and 10 (a package built against
/// EF Core 9 fails on EF Core 10 with a <see cref="TypeLoadException"/> for <c>SetPropertyCalls`1</c>), and through EF
/// Core's query pipeline the load-and-save path ran at half the speed of hand-written statements on PostgreSQL.
/// Removes and the purge do go through <c>ExecuteDeleteAsync</c>, which both lines share.
/// </remarks>
internal sealed class SessionStatements
{
    /// <summary>The one provider with its own path: Npgsql runs positional <c>$1</c> parameters unparsed and keeps prepared statements per connection.</summary>
    public const string NpgsqlProvider = "Npgsql.EntityFrameworkCore.PostgreSQL";

    private SessionStatements(DbContext context, IEntityType entity, string tableName, string? schema)
    {
        var sql = context.GetService<ISqlGenerationHelper>();
        var store = StoreObjectIdentifier.Table(tableName, schema);
        string Column(string property) => sql.DelimitIdentifier(entity.FindProperty(property)!.GetColumnName(store)!);

        ProviderName = context.Database.ProviderName ?? "an unnamed provider";
        Positional = ProviderName == NpgsqlProvider;
        CommandTimeout = context.Database.GetCommandTimeout();
        TableName = tableName;
        Schema = schema;

        // The SQLite helper leaves out the schema (SQLite has none); the others qualify the name with it.
        Table = sql.DelimitIdentifier(tableName, schema);
        var key = Column(nameof(SessionEntity.Key));
        var payload = Column(nameof(SessionEntity.Payload));
        var expiresAt = Column(nameof(SessionEntity.ExpiresAtUnixMilliseconds));
        var version = Column(nameof(SessionEntity.Version));
        ParameterNames = [.. Enumerable.Range(1, 6).Select(i => Positional ? string.Empty : sql.GenerateParameterName($"p{i}"))];
        string P(int position) => Positional ? $"${position}" : sql.GenerateParameterNamePlaceholder($"p{position}");

        // Parameters are positional, in the order each statement's summary lists them.
        Get = $"SELECT {payload}, {expiresAt}, {version} FROM {Table} WHERE {key} = {P(1)} AND {expiresAt} > {P(2)}";
        Insert = $"INSERT INTO {Table} ({key}, {payload}, {expiresAt}, {version}) VALUES ({P(1)}, {P(2)}, {P(3)}, {P(4)})";
        var set = $"UPDATE {Table} SET {payload} = {P(2)}, {expiresAt} = {P(3)}, {version} = {P(4)} WHERE {key} = {P(1)}";
        Replace = set;
        ReplaceExpired = set + $" AND {expiresAt} <= {P(5)}";
        UpdateIfVersion = set + $" AND {expiresAt} > {P(5)} AND {version} = {P(6)}";
        Touch = $"UPDATE {Table} SET {expiresAt} = {P(2)} WHERE {key} = {P(1)} AND {expiresAt} > {P(3)}";
    }

    /// <summary>The EF Core provider, for messages.</summary>
    public string ProviderName { get; }

    /// <summary>Whether parameters are positional and unnamed (Npgsql); otherwise named as <see cref="ParameterNames"/> says.</summary>
    public bool Positional { get; }

    /// <summary>The name of the n-th parameter (index 0 for the first), as the provider spells it.</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <summary>The context's command timeout in seconds, for every command; <see langword="null"/> for the provider's default.</summary>
    public int? CommandTimeout { get; }

    public string TableName { get; }

    public string? Schema { get; }

    /// <summary>The table's delimited, schema-qualified name.</summary>
    public string Table { get; }

    /// <summary>The live row's payload, expiry and version. Parameters: key, now.</summary>
    public string Get { get; }

    /// <summary>Parameters: key, payload, expires-at, version. Fails with a duplicate key when a row (live or expired) holds the key.</summary>
    public string Insert { get; }

    /// <summary>Overwrites the row whatever it holds. Parameters: key, payload, expires-at, version.</summary>
    public string Replace { get; }

    /// <summary>Overwrites the row only if it has expired. Parameters: key, payload, expires-at, version, now.</summary>
    public string ReplaceExpired { get; }

    /// <summary>Parameters: key, payload, expires-at, version, now, expected version.</summary>
    public string UpdateIfVersion { get; }

    /// <summary>Parameters: key, expires-at, now.</summary>
    public string Touch { get; }

    public static SessionStatements For(DbContext context)
    {
        var entity = context.Model.FindEntityType(typeof(SessionEntity))
            ?? throw new InvalidOperationException(
                $"{context.GetType().Name} does not map the sessions table: call modelBuilder.AddSessions() in its OnModelCreating, then add a migration.");
        var tableName = entity.GetTableName()
            ?? throw new InvalidOperationException($"{context.GetType().Name} maps SessionEntity to something other than a table; map it with modelBuilder.AddSessions().");
        return new SessionStatements(context, entity, tableName, entity.GetSchema());
    }
}
