using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Sessions.Core.Tests.Build;

/// <summary>Source habits that keep a package's DLL identical when the same commit is built twice.</summary>
[TestFixture]
public sealed partial class ReproducibleSourceTests
{
    [Test]
    public void Each_project_declares_its_logger_messages_in_one_partial_declaration()
    {
        // The .NET 10 logging generator emits the declarations of a class split over several files in an unstable
        // order (dotnet/runtime#119587, fixed after 10.0): the same commit then packs to different DLLs now and then.
        var src = Path.Combine(RepositoryRoot(), "src");
        var offenders = Directory.GetDirectories(src)
            .Select(project => (Project: Path.GetFileName(project), Files: Directory
                .EnumerateFiles(project, "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Select(f => (File: Path.GetRelativePath(src, f), Declarations: LoggerDeclarations(File.ReadAllText(f))))
                .Where(f => f.Declarations > 0)
                .ToList()))
            .Where(p => p.Files.Sum(f => f.Declarations) > 1)
            .Select(p => $"{p.Project}: {string.Join(", ", p.Files.Select(f => $"{f.File} ({f.Declarations})"))}")
            .ToList();

        Assert.That(offenders, Is.Empty,
            "each project keeps all its [LoggerMessage] methods in one class declaration (see src/Sessions.Core/Diagnostics/Log.cs)");
    }

    [Test]
    public void The_check_counts_a_class_split_over_two_declarations()
    {
        const string split = """
            internal static partial class Log
            {
                [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "a")]
                public static partial void A(ILogger logger);
            }
            internal static partial class Log
            {
                [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "b")]
                public static partial void B(ILogger logger);
            }
            """;
        Assert.That(LoggerDeclarations(split), Is.EqualTo(2));
    }

    /// <summary>Counts the type declarations in <paramref name="source"/> that hold at least one [LoggerMessage].</summary>
    private static int LoggerDeclarations(string source)
    {
        var declarations = TypeDeclaration().Matches(source).Select(m => m.Index).Append(source.Length).ToList();
        var count = 0;
        for (var i = 0; i < declarations.Count - 1; i++)
        {
            if (source.AsSpan(declarations[i], declarations[i + 1] - declarations[i]).Contains("[LoggerMessage", StringComparison.Ordinal))
            {
                count++;
            }
        }

        return count;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Sessions.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Sessions.slnx above {TestContext.CurrentContext.TestDirectory}.");
    }

    // A type declaration: at the start of a line, after its modifiers (so "a record that..." in a message is no declaration).
    [GeneratedRegex(@"(?m)^[ \t]*(?:(?:public|internal|private|protected|static|sealed|partial|abstract|readonly|file|ref)\s+)*(?:class|struct|record|interface)\s+\w+")]
    private static partial Regex TypeDeclaration();
}
