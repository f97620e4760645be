using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Sessions.EFCore.Internal;

/// <summary>The backend's own context when the app does not bring one: the sessions table and nothing else.</summary>
internal sealed class SessionsDbContext : DbContext
{
    public SessionsDbContext(DbContextOptions<SessionsDbContext> options)
        : base(options)
    {
        var table = options.FindExtension<SessionsTableOptionsExtension>();
        TableName = table?.TableName ?? SessionsModelBuilderExtensions.DefaultTableName;
        Schema = table?.Schema;
    }

    public string TableName { get; }

    public string? Schema { get; }

    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.AddSessions(TableName, Schema);

    /// <summary>Builds the options of an internal context: the app's provider settings plus the table's name.</summary>
    public static DbContextOptions<SessionsDbContext> BuildOptions(Action<DbContextOptionsBuilder> configureDatabase, string tableName, string? schema)
    {
        var builder = new DbContextOptionsBuilder<SessionsDbContext>();
        configureDatabase(builder);
        if (!builder.IsConfigured)
        {
            throw new InvalidOperationException(
                "AddEFCoreBackend(db => ...) did not choose a database provider; call the Use... method of the EF Core provider the app references, such as db.UseSqlite(cs), db.UseNpgsql(cs), db.UseMySql(cs, serverVersion) or db.UseSqlServer(cs).");
        }

        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new SessionsTableOptionsExtension(tableName, schema));

        // The model depends on the table name, so two backends with different tables must not share one cached model.
        builder.ReplaceService<IModelCacheKeyFactory, SessionsModelCacheKeyFactory>();
        return builder.Options;
    }
}
