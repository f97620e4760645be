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
        if (await ExistsAsync(context, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var commands = CreateCommands(context);

        await context.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // One transaction, so that where DDL is transactional (SQLite, PostgreSQL, SQL Server) a failure leaves no table
            // without its index. MySQL and MariaDB commit each DDL statement on their own.
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
            if (await ExistsAsync(context, CancellationToken.None).ConfigureAwait(false))
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

    // Asked the same way on every provider: a query of the table that reads no row. It succeeds when the table is there and
    // fails with the provider's "no such table" when it is not; any other failure is the database's, and is reported.
    private static async Task<bool> ExistsAsync(DbContext context, CancellationToken cancellationToken)
    {
        try
        {
            _ = await context.Set<SessionEntity>().AsNoTracking().Where(s => s.Key == string.Empty).Select(s => s.Version).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DbException ex) when (DatabaseErrors.IsMissingTable(ex))
        {
            return false;
        }
    }

    /// <summary>The DDL that creates the sessions table and its indexes, as EF Core's migrations generate it for the context's provider.</summary>
    public static IReadOnlyList<MigrationCommand> CreateCommands(DbContext context)
    {
        var sql = SessionStatements.For(context);
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
        return context.GetService<IMigrationsSqlGenerator>().Generate(operations, model);
    }
}
