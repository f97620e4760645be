using System.Data.Common;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Sessions.EFCore.Tests.Support;

/// <summary>Plants a row of random payload bytes under a key in the sessions table, bypassing the backend.</summary>
internal static class UnreadableRows
{
    public static async ValueTask WriteSqliteAsync(string connectionString, string key, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(connectionString);
        await WriteAsync(connection, "@", key, cancellationToken);
    }

    public static async ValueTask WritePostgresAsync(string connectionString, string key, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await WriteAsync(connection, "@", key, cancellationToken);
    }

    private static async Task WriteAsync(DbConnection connection, string marker, string key, CancellationToken cancellationToken)
    {
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"DELETE FROM sessions WHERE key = {marker}k; " +
            $"INSERT INTO sessions (key, payload, expires_at, version) VALUES ({marker}k, {marker}p, {marker}e, 1)";
        Add(command, "k", key);
        Add(command, "p", RandomNumberGenerator.GetBytes(300));
        Add(command, "e", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
