using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;

namespace Sessions.EFCore.Internal;

/// <summary>
/// The explicit schema helper: creates the sessions table and index with the DDL EF Core's own migrations generate for
/// the model (so the table matches what a later migration expects), only the sessions objects, only if missing.
/// </summary>
internal static class SessionsTableCreator
{
    public static async Task<bool> EnsureCreatedAsync(DbContext context, CancellationToken cancellationToken)
    {
        var sql = SessionsTableSql.For(context);
        if (await ExistsAsync(context, sql, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var model = context.GetService<IDesignTimeModel>().Model;
        var operations = context.GetService<IMigrationsModelDiffer>()
            .GetDifferences(null, model.GetRelationalModel())
            .Where(op => op switch
            {
                EnsureSchemaOperation schema => schema.Name == sql.Schema,
                CreateTableOperation table => table.Name == sql.TableName && table.Schema == sql.Schema,
                CreateIndexOperation index => index.Table == sql.TableName && index.Schema == sql.Schema,
                _ => false,
            })
            .ToList();
        var commands = context.GetService<IMigrationsSqlGenerator>().Generate(operations, model);

        await context.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // One transaction on both databases (their DDL is transactional), so a failure leaves no table without its index.
            await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            foreach (var command in commands)
            {
                await context.Database.ExecuteSqlRawAsync(command.CommandText, cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DbException)
        {
            // Another process may have created it between our check and our CREATE TABLE; anything else is a real failure.
            if (await ExistsAsync(context, sql, CancellationToken.None).ConfigureAwait(false))
            {
                return false;
            }

            throw;
        }
        finally
        {
            await context.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    private static async Task<bool> ExistsAsync(DbContext context, SessionsTableSql sql, CancellationToken cancellationToken)
    {
        var connection = context.Database.GetDbConnection();
        await context.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = connection.CreateCommand();
            var name = command.CreateParameter();
            name.ParameterName = "@name";
            if (sql.Kind == DatabaseKind.Sqlite)
            {
                command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @name";
                name.Value = sql.TableName;
            }
            else
            {
                command.CommandText = "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = @name AND schemaname = COALESCE(@schema, current_schema())";
                name.Value = sql.TableName;
                var schema = command.CreateParameter();
                schema.ParameterName = "@schema";
                schema.DbType = System.Data.DbType.String;
                schema.Value = (object?)sql.Schema ?? DBNull.Value;
                command.Parameters.Add(schema);
            }

            command.Parameters.Add(name);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) > 0;
        }
        finally
        {
            await context.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }
}
