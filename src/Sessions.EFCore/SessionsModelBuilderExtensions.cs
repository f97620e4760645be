using Sessions.Backends;
using Sessions.EFCore;
using Sessions.EFCore.Internal;

namespace Microsoft.EntityFrameworkCore;

/// <summary>Maps the sessions table into an application's own <see cref="DbContext"/>.</summary>
public static class SessionsModelBuilderExtensions
{
    /// <summary>The default table name.</summary>
    public const string DefaultTableName = "sessions";

    /// <summary>
    /// Adds the sessions table to the model, so that it is created and changed by the app's own migrations. Call it from
    /// <c>OnModelCreating</c>, then register the backend with <c>AddEFCoreBackend&lt;TContext&gt;()</c>.
    /// </summary>
    /// <param name="modelBuilder">The model builder passed to <c>OnModelCreating</c>.</param>
    /// <param name="tableName">The table name. Default <c>sessions</c>.</param>
    /// <param name="schema">The schema (PostgreSQL, SQL Server); <see langword="null"/> for the default. SQLite has no schemas and ignores it.</param>
    /// <remarks>
    /// The key column compares byte for byte on every provider: on MySQL and MariaDB it gets the <c>utf8mb4</c> character set
    /// with the <c>utf8mb4_bin</c> collation, on SQL Server <c>Latin1_General_BIN2</c> (their default collations ignore case);
    /// SQLite's and PostgreSQL's defaults already do. The provider is recognised by the annotation its conventions put on
    /// the model, so call this from <c>OnModelCreating</c> of a context configured for that provider.
    /// </remarks>
    /// <returns>The model builder.</returns>
    /// <example><code>protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.AddSessions();</code></example>
    public static ModelBuilder AddSessions(this ModelBuilder modelBuilder, string tableName = DefaultTableName, string? schema = null)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        ArgumentException.ThrowIfNullOrWhiteSpace(tableName);
        if (schema is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        }

        modelBuilder.Entity<SessionEntity>(entity =>
        {
            entity.ToTable(tableName, schema);
            entity.HasKey(e => e.Key).HasName($"pk_{tableName}");
            var key = entity.Property(e => e.Key).HasColumnName("key").HasMaxLength(SessionKeys.MaxKeyLength).IsUnicode(false).IsRequired();
            BinaryKeyColumn.Apply(modelBuilder.Model, key);
            entity.Property(e => e.Payload).HasColumnName("payload").IsRequired();
            entity.Property(e => e.ExpiresAtUnixMilliseconds).HasColumnName("expires_at");
            entity.Property(e => e.Version).HasColumnName("version");

            // The purge walks this index in batches; the primary key is the key's index.
            entity.HasIndex(e => e.ExpiresAtUnixMilliseconds).HasDatabaseName($"ix_{tableName}_expires_at");
        });
        return modelBuilder;
    }
}
