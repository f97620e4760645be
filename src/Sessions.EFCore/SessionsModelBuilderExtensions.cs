using Sessions.Backends;
using Sessions.EFCore;

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
    /// <param name="schema">The schema (PostgreSQL); <see langword="null"/> for the default. SQLite has no schemas and ignores it.</param>
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
            entity.Property(e => e.Key).HasColumnName("key").HasMaxLength(SessionKeys.MaxKeyLength).IsUnicode(false).IsRequired();
            entity.Property(e => e.Payload).HasColumnName("payload").IsRequired();
            entity.Property(e => e.ExpiresAtUnixMilliseconds).HasColumnName("expires_at");
            entity.Property(e => e.Version).HasColumnName("version");

            // The purge and every liveness check filter on expiry; the purge walks this index in batches.
            entity.HasIndex(e => e.ExpiresAtUnixMilliseconds).HasDatabaseName($"ix_{tableName}_expires_at");
        });
        return modelBuilder;
    }
}
