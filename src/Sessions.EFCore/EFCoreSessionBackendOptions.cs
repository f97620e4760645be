using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.EFCore;

/// <summary>Options for <see cref="EFCoreSessionBackend"/>, checked by a source-generated validator: the table name is a data annotation, the other rules are <see cref="Validate(ValidationContext)"/>.</summary>
public sealed class EFCoreSessionBackendOptions : IValidatableObject
{
    /// <summary>
    /// The database, for <c>AddEFCoreBackend()</c> called without a database delegate (<c>Sessions:EFCore:Provider</c>):
    /// <see cref="EFCoreSessionDatabase.Sqlite"/>, <see cref="EFCoreSessionDatabase.PostgreSQL"/>,
    /// <see cref="EFCoreSessionDatabase.MySql"/> (also MariaDB) or <see cref="EFCoreSessionDatabase.SqlServer"/>; the app must
    /// reference that database's EF Core provider package, or start-up fails naming it. Default
    /// <see langword="null"/>: then that call fails at start-up asking for it. Ignored when a database delegate or your own
    /// context is given.
    /// </summary>
    public EFCoreSessionDatabase? Provider { get; set; }

    /// <summary>
    /// The connection string for <see cref="Provider"/> (<c>Sessions:EFCore:ConnectionString</c>), for example
    /// <c>Data Source=sessions.db</c> (SQLite), <c>Host=127.0.0.1;Port=5432;Username=app;Password=...;Database=app</c>
    /// (PostgreSQL, Npgsql syntax) or <c>Server=127.0.0.1;Port=3306;User=app;Password=...;Database=app</c> (MySQL, MariaDB).
    /// Required with <see cref="Provider"/>; ignored otherwise.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The table name when the backend uses its own internal <c>DbContext</c> (<c>AddEFCoreBackend(db =&gt; db.UseNpgsql(...))</c>).
    /// Default <c>sessions</c>. With your own context, pass the name to <c>modelBuilder.AddSessions(...)</c> instead; this is ignored.
    /// </summary>
    [Required(ErrorMessage = "Sessions:EFCore:TableName must not be empty (default \"sessions\").")]
    public string TableName { get; set; } = "sessions";

    /// <summary>The schema for the internal context's table (PostgreSQL, SQL Server); <see langword="null"/> (the default) for the database's default schema.</summary>
    public string? Schema { get; set; }

    /// <summary>
    /// How many expired rows one purge statement deletes (default 1000). The purge repeats the statement until fewer are
    /// left, so it never holds locks on many rows at once.
    /// </summary>
    public int PurgeBatchSize { get; set; } = 1000;

    /// <summary>
    /// How many keys one enumeration query returns (default 500); the enumeration pages by key, so it holds no cursor open.
    /// </summary>
    public int EnumerationPageSize { get; set; } = 500;

    /// <summary>
    /// How many times an operation is attempted when the database reports a transient failure that is safe to retry
    /// (default 3; 1 disables retries). See the package README for which failures are retried.
    /// </summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// Whether the backend prepares its statements on PostgreSQL (default <see langword="true"/>): Npgsql prepares each one
    /// once per physical connection, and the server then skips parsing and planning it on every call. Turn it off behind a
    /// connection pooler that does not support prepared statements, such as PgBouncer in transaction mode before 1.21.
    /// SQLite ignores it.
    /// </summary>
    public bool PrepareStatements { get; set; } = true;

    /// <summary>The size of the internal context's pool (default 128). Ignored with your own context.</summary>
    public int ContextPoolSize { get; set; } = 128;

    /// <summary>Checks the values; returns the problems, each saying what to set.</summary>
    /// <returns>An empty list when the options are valid.</returns>
    public IReadOnlyList<string> Validate() => [.. new EFCoreSessionBackendOptionsValidator().Validate(null, this).Failures ?? []];

    /// <summary>
    /// The rules that are code: a schema, when set, is not blank; and the ranges (the generator's <c>[Range]</c> ignores its
    /// error message, dotnet/runtime#123137, and the message must name the setting).
    /// </summary>
    /// <param name="validationContext">The context, unused.</param>
    /// <returns>One result per problem.</returns>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Schema is not null && string.IsNullOrWhiteSpace(Schema))
        {
            yield return new("Sessions:EFCore:Schema must be null (the default schema) or a schema name, not blank.");
        }

        if (PurgeBatchSize is < 1 or > 100_000)
        {
            yield return new($"Sessions:EFCore:PurgeBatchSize must be between 1 and 100000; got {PurgeBatchSize}.");
        }

        if (EnumerationPageSize is < 1 or > 100_000)
        {
            yield return new($"Sessions:EFCore:EnumerationPageSize must be between 1 and 100000; got {EnumerationPageSize}.");
        }

        if (MaxAttempts is < 1 or > 10)
        {
            yield return new($"Sessions:EFCore:MaxAttempts must be between 1 and 10; got {MaxAttempts}.");
        }

        if (ContextPoolSize < 1)
        {
            yield return new($"Sessions:EFCore:ContextPoolSize must be positive; got {ContextPoolSize}.");
        }
    }
}
