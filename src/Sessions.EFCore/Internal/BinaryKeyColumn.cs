using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sessions.EFCore.Internal;

/// <summary>
/// Gives the key column a collation that compares bytes where the database's default would fold case: MySQL and MariaDB
/// (<c>utf8mb4_bin</c>, in the <c>utf8mb4</c> character set so that it fits whatever the database's default set is) and
/// SQL Server (<c>Latin1_General_BIN2</c>). SQLite (BINARY) and PostgreSQL (deterministic collations) already compare
/// keys exactly and are left alone. Keys are printable ASCII without spaces, so PAD SPACE, which makes <c>'a'</c> equal
/// <c>'a '</c> on both, can never merge two keys.
/// </summary>
internal static class BinaryKeyColumn
{
    // Each provider's conventions put its value-generation strategy on the model before OnModelCreating runs, under its own
    // prefix (checked: "MySql:" for Pomelo, "SqlServer:" for SQL Server, "Npgsql:" for PostgreSQL; SQLite puts none).
    private const string MySqlStrategy = "MySql:ValueGenerationStrategy";
    private const string SqlServerStrategy = "SqlServer:ValueGenerationStrategy";

    public const string MySqlCharSet = "utf8mb4";
    public const string MySqlCollation = "utf8mb4_bin";
    public const string SqlServerCollation = "Latin1_General_BIN2";

    public static void Apply(IMutableModel model, PropertyBuilder<string> key)
    {
        if (HasAnnotation(model, MySqlStrategy))
        {
            key.HasAnnotation("MySql:CharSet", MySqlCharSet).UseCollation(MySqlCollation);
        }
        else if (HasAnnotation(model, SqlServerStrategy))
        {
            key.UseCollation(SqlServerCollation);
        }
    }

    private static bool HasAnnotation(IMutableModel model, string name) =>
        model.GetAnnotations().Any(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase));
}
