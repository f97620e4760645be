using System.Data.Common;
using System.Security.Cryptography;

namespace Sessions.EFCore.Tests.Support;

/// <summary>Plants a row of random payload bytes under a key in a sessions table, bypassing the backend.</summary>
internal static class UnreadableRows
{
    /// <summary>
    /// Replaces the row under <paramref name="key"/> on <paramref name="connection"/> (not yet open). The table and the key
    /// column come quoted for the database (<c>"key"</c>, <c>`key`</c>, <c>[key]</c>); parameters are named <c>@k</c>, <c>@p</c>, <c>@e</c>.
    /// </summary>
    public static async ValueTask WriteAsync(DbConnection connection, string table, string keyColumn, string key, CancellationToken cancellationToken)
    {
        await using (connection)
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText =
                $"DELETE FROM {table} WHERE {keyColumn} = @k; " +
                $"INSERT INTO {table} ({keyColumn}, payload, expires_at, version) VALUES (@k, @p, @e, 1)";
            Add(command, "@k", key);
            Add(command, "@p", RandomNumberGenerator.GetBytes(300));
            Add(command, "@e", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
