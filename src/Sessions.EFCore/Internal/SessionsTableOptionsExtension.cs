using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.EFCore.Internal;

/// <summary>Carries the table name and schema into the internal context, which must have a single options constructor to be pooled.</summary>
internal sealed class SessionsTableOptionsExtension(string tableName, string? schema) : IDbContextOptionsExtension
{
    private ExtensionInfo? _info;

    public string TableName { get; } = tableName;

    public string? Schema { get; } = schema;

    public DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    public void ApplyServices(IServiceCollection services)
    {
    }

    public void Validate(IDbContextOptions options)
    {
    }

    private sealed class ExtensionInfo(SessionsTableOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        private new SessionsTableOptionsExtension Extension => (SessionsTableOptionsExtension)base.Extension;

        public override bool IsDatabaseProvider => false;

        public override string LogFragment => $"SessionsTable={Extension.Schema}.{Extension.TableName} ";

        // The table name changes the model, not the services, so every internal context shares one service provider.
        public override int GetServiceProviderHashCode() => 0;

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) => other is ExtensionInfo;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo)
        {
            debugInfo["Sessions:TableName"] = Extension.TableName;
            debugInfo["Sessions:Schema"] = Extension.Schema ?? string.Empty;
        }
    }
}
