using System.Reflection;
using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;
using Sessions.EFCore.Internal;

namespace Sessions.EFCore.Tests;

/// <summary>
/// What is specific to SQL Server, checked without a server (none can be had here; the kit runs against one with
/// SESSIONS_TEST_SQLSERVER): the table's DDL as the SQL Server provider generates it, the statements' quoting and
/// parameters, and how its error numbers are read from real <see cref="SqlException"/>s.
/// </summary>
[TestFixture]
public sealed class SqlServerTests
{
    private const string NoServer = "Server=127.0.0.1,1;Database=sessions;User Id=sa;Password=x;TrustServerCertificate=true";

    [Test]
    public async Task The_DDL_gives_the_key_a_binary_collation_and_indexes_the_expiry()
    {
        await using var context = SessionsContext();

        var ddl = string.Join("\n", SessionsTableCreator.CreateCommands(context).Select(c => c.CommandText));

        Assert.That(ddl, Does.Contain("[key] varchar(250) COLLATE Latin1_General_BIN2 NOT NULL"), ddl);
        Assert.That(ddl, Does.Contain("CONSTRAINT [pk_sessions] PRIMARY KEY ([key])"), ddl);
        Assert.That(ddl, Does.Contain("CREATE INDEX [ix_sessions_expires_at] ON [sessions] ([expires_at])"), ddl);
        Assert.That(ddl, Does.Contain("[payload] varbinary(max) NOT NULL").And.Contain("[expires_at] bigint NOT NULL").And.Contain("[version] bigint NOT NULL"), ddl);
    }

    [Test]
    public async Task The_statements_are_quoted_and_named_for_SQL_Server()
    {
        await using var context = SessionsContext();

        var statements = SessionStatements.For(context);

        Assert.That(statements.Positional, Is.False);
        Assert.That(statements.Get, Is.EqualTo("SELECT [payload], [expires_at], [version] FROM [sessions] WHERE [key] = @p1 AND [expires_at] > @p2"));
        Assert.That(statements.Insert, Is.EqualTo("INSERT INTO [sessions] ([key], [payload], [expires_at], [version]) VALUES (@p1, @p2, @p3, @p4)"));
        Assert.That(statements.ParameterNames[0], Is.EqualTo("@p1"));
    }

    [TestCase(2627, true)]
    [TestCase(2601, true)]
    [TestCase(547, false)]
    public void Duplicate_keys_are_errors_2627_and_2601(int number, bool duplicate) =>
        Assert.That(DatabaseErrors.IsDuplicateKey(Error(number)), Is.EqualTo(duplicate));

    [TestCase(1205, "NotApplied")]
    [TestCase(1222, "NotApplied")]
    [TestCase(10054, "OutcomeUnknown")]
    [TestCase(-2, "OutcomeUnknown")]
    [TestCase(40613, "OutcomeUnknown")]
    [TestCase(2627, "Permanent")]
    [TestCase(208, "Permanent")]
    public void Failures_are_classified_by_their_error_number(int number, string kind) =>
        Assert.That(DatabaseErrors.Classify(Error(number), connectionOpened: true), Is.EqualTo(Enum.Parse<FailureKind>(kind)));

    [Test]
    public void A_connection_that_failed_to_open_did_not_apply_anything() =>
        Assert.That(DatabaseErrors.Classify(Error(53), connectionOpened: false), Is.EqualTo(FailureKind.NotApplied));

    [Test]
    public void A_missing_table_is_error_208() =>
        Assert.That(DatabaseErrors.IsMissingTable(Error(208)), Is.True);

    private static DbContext SessionsContext() =>
        new SessionsDbContext(SessionsDbContext.BuildOptions(db => db.UseSqlServer(NoServer), "sessions", null));

    // A real SqlException with one error of the given number, made the way SqlClient makes them (its constructors are internal).
    private static SqlException Error(int number)
    {
        const BindingFlags flags = BindingFlags.NonPublic | BindingFlags.Instance;
        var errorConstructor = typeof(SqlError).GetConstructors(flags).OrderByDescending(c => c.GetParameters().Length).First();
        var arguments = errorConstructor.GetParameters().Select(p => p.Position switch
        {
            0 => (object?)number,
            _ when p.ParameterType == typeof(string) => $"simulated error {number}",
            _ when p.ParameterType == typeof(byte) => (byte)0,
            _ when p.ParameterType == typeof(int) => 0,
            _ when p.ParameterType == typeof(uint) => 0u,
            _ => null,
        }).ToArray();
        var error = (SqlError)errorConstructor.Invoke(arguments);
        var errors = (SqlErrorCollection)Activator.CreateInstance(typeof(SqlErrorCollection), nonPublic: true)!;
        typeof(SqlErrorCollection).GetMethod("Add", flags)!.Invoke(errors, [error]);
        var create = typeof(SqlException).GetMethods(BindingFlags.NonPublic | BindingFlags.Static)
            .Where(m => m.Name == "CreateException" && m.GetParameters() is [var first, var second] && first.ParameterType == typeof(SqlErrorCollection) && second.ParameterType == typeof(string))
            .Single();
        return (SqlException)create.Invoke(null, [errors, "16.0"])!;
    }
}
