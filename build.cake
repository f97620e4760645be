// The build: ./build.sh [--target=Build|Test|Pack|Default|Load] [--configuration=Release] [--filter=<dotnet test filter>]
// Private tasks (__X) do one step each; the public targets at the bottom chain them.

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var filter = Argument("filter", "");

var solution = File("./Sessions.slnx");
var artifacts = Directory("./artifacts");
var testResults = artifacts + Directory("test-results");
var packages = artifacts + Directory("packages");

// Set by __Test, printed after RunTarget so that the totals are the last line of the output.
TestTotals totals = null;

Task("__Clean")
    .Does(() => CleanDirectory(artifacts));

Task("__Restore")
    .Does(() => DotNetRestore(solution));

// Packing builds with ContinuousIntegrationBuild: source paths mapped to /_/, so the packages are the same from any clone
// path on any machine (Directory.Build.props; tests/Sessions.Packaging.Tests checks it). Other targets keep real paths.
var packing = target == "Pack";

Task("__Build")
    .Does(() => DotNetBuild(solution, new DotNetBuildSettings
    {
        Configuration = configuration,
        NoRestore = true,
        ArgumentCustomization = args => packing ? args.Append("-p:ContinuousIntegrationBuild=true") : args,
    }));

Task("__Test")
    .Does(() =>
{
    // Installs (idempotently) the real servers the tests talk to; see the script for SESSIONS_SETUP.
    var setup = StartProcess("bash", "tools/setup.sh");
    if (setup != 0)
    {
        throw new Exception($"tools/setup.sh failed with exit code {setup}.");
    }

    CleanDirectory(testResults);
    var failedProjects = new List<string>();

    // One project at a time (the machine has 2 cores), and keep going past a failing project.
    // tests/Conformance is a library the test projects subclass, not a test project, so the glob skips it.
    // tests/Sessions.Packaging.Tests packs every package from a clone and uses them as a new user would (a few minutes).
    foreach (var project in GetFiles("./tests/**/*Tests.csproj").OrderBy(p => p.FullPath))
    {
        var name = project.GetFilenameWithoutExtension().ToString();
        try
        {
            DotNetTest(project.FullPath, new DotNetTestSettings
            {
                Configuration = configuration,
                NoBuild = true,
                Filter = string.IsNullOrEmpty(filter) ? null : filter,
                Loggers = { $"trx;LogFileName={name}.trx" },
                ResultsDirectory = testResults,
                // A hung test (a server that never answers) fails its project after 10 minutes instead of stalling CI.
                ArgumentCustomization = args => args.Append("--blame-hang-timeout").Append("10m"),
            });
        }
        catch (Exception e)
        {
            Error($"{name}: {e.Message}");
            failedProjects.Add(name);
        }
    }

    totals = TestTotals.Read(GetFiles($"{testResults}/*.trx"));
    if (failedProjects.Count > 0)
    {
        throw new Exception($"dotnet test failed for {string.Join(", ", failedProjects)}.");
    }

    if (totals.Failed > 0)
    {
        throw new Exception($"{totals.Failed} test(s) failed.");
    }

    if (totals.Passed == 0)
    {
        // A run that checks nothing (no tests found, or a filter that matches none) is not a pass.
        throw new Exception("No test passed: no tests were found, or --filter matched none.");
    }
});

// The FileSystem backend's contract tests once more under a non-UTC time zone, so that local time taken for UTC (which
// passes under TZ=UTC) fails somewhere. One backend keeps it cheap; the kit README tells third-party authors to do the same.
Task("__TestTimeZone")
    .WithCriteria(() => string.IsNullOrEmpty(filter))
    .Does(() =>
{
    const string zone = "America/New_York";
    if (!System.IO.File.Exists($"/usr/share/zoneinfo/{zone}"))
    {
        throw new Exception($"The time zone {zone} is not installed (tzdata), so the non-UTC run would silently run under UTC.");
    }

    DotNetTest("./tests/Sessions.FileSystem.Tests/Sessions.FileSystem.Tests.csproj", new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Filter = "FullyQualifiedName~FileSystemSessionBackendConformanceTests|FullyQualifiedName~FileSystemExpiredSessionPurgerConformanceTests",
        Loggers = { "trx;LogFileName=Sessions.FileSystem.Tests.TZ.trx" },
        ResultsDirectory = testResults + Directory("time-zone"),
        EnvironmentVariables = { ["TZ"] = zone },
        ArgumentCustomization = args => args.Append("--blame-hang-timeout").Append("10m"),
    });
});

Task("__Pack")
    .Does(() =>
{
    DotNetPack(solution, new DotNetPackSettings
    {
        // Packing the solution packs exactly the projects with IsPackable=true (src/* and tests/Conformance).
        Configuration = configuration,
        NoBuild = true,
        NoRestore = true,
        OutputDirectory = packages,
    });

    // The package set is every project under src/ (Sessions.Core, the contract; Sessions.AspNetCore, the engine; the
    // backends; the tool) and the conformance kit: a project left out of the solution or not packable fails here.
    var expected = GetFiles("./src/*/*.csproj").Select(p => p.GetFilenameWithoutExtension().ToString())
        .Append("Sessions.Conformance").OrderBy(id => id, StringComparer.Ordinal).ToList();
    var packed = GetFiles($"{packages}/*.nupkg").Select(p => p.GetFilename().ToString())
        .Select(name => System.Text.RegularExpressions.Regex.Replace(name, @"\.\d+\.\d+\.\d+.*\.nupkg$", ""))
        .OrderBy(id => id, StringComparer.Ordinal).ToList();
    if (!packed.SequenceEqual(expected))
    {
        throw new Exception($"Packed {string.Join(", ", packed)}; expected {string.Join(", ", expected)}.");
    }

    Information($"Packed {packed.Count} packages to {packages}: {string.Join(", ", packed)}.");
});

Task("Build")
    .IsDependentOn("__Clean")
    .IsDependentOn("__Restore")
    .IsDependentOn("__Build");

Task("Test")
    .IsDependentOn("Build")
    .IsDependentOn("__Test")
    .IsDependentOn("__TestTimeZone");

Task("Pack")
    .IsDependentOn("Build")
    .IsDependentOn("__Pack");

Task("Default")
    .IsDependentOn("Test");

// The end-to-end load harness (bench/load/README.md): installs the servers and tools it needs, builds the sample in
// Release, runs wrk against every backend and the peers, and prints the table. Not part of Test or Default.
Task("Load")
    .Does(() =>
{
    var loadExit = StartProcess("bash", "bench/load/run.sh");
    if (loadExit != 0)
    {
        throw new Exception($"bench/load/run.sh failed with exit code {loadExit}; its log is in bench/load/results/<newest>/run.log.");
    }
});

// RunTarget prints Cake's task summary. An uncaught failure would be printed by Cake after this
// script ends, so it is logged here instead, and the test totals stay the last line of the output.
var exitCode = 0;
try
{
    RunTarget(target);
}
catch (Exception e)
{
    Error($"Error: {e.Message}");
    exitCode = 1;
}

if (totals != null)
{
    // Plain Console, not Information(): Cake colours the numbers with ANSI escapes.
    if (totals.Skipped > 0)
    {
        Console.WriteLine($"Skipped/ignored: {totals.Skipped}, by fixture (each with its reason in the TRX files under {testResults}):");
        foreach (var (fixture, count) in totals.IgnoredByFixture.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"  {count,4}  {fixture}");
        }
    }

    Console.WriteLine($"Tests: {totals.Passed} passed, {totals.Failed} failed");
}

// Returning from the script always exits 0; Environment.Exit is how a failure reaches build.sh.
if (exitCode != 0)
{
    System.Environment.Exit(exitCode);
}

// Sums the <ResultSummary><Counters .../> of the TRX files that `dotnet test` wrote.
public sealed class TestTotals
{
    public int Passed { get; private set; }
    public int Failed { get; private set; }
    public int Skipped { get; private set; }
    public Dictionary<string, int> IgnoredByFixture { get; } = new(StringComparer.Ordinal);

    public static TestTotals Read(IEnumerable<FilePath> trxFiles)
    {
        var totals = new TestTotals();
        foreach (var file in trxFiles)
        {
            var trx = System.Xml.Linq.XDocument.Load(file.FullPath);
            var counters = trx
                .Descendants()
                .First(e => e.Name.LocalName == "Counters");

            // Name the fixtures whose tests did not run (Assert.Ignore, missing servers for Mongo/Elasticsearch, ...).
            var classes = trx.Descendants().Where(e => e.Name.LocalName == "UnitTest")
                .ToDictionary(
                    e => e.Attribute("id")?.Value ?? "",
                    e => e.Descendants().FirstOrDefault(m => m.Name.LocalName == "TestMethod")?.Attribute("className")?.Value ?? "?");
            foreach (var result in trx.Descendants().Where(e => e.Name.LocalName == "UnitTestResult" && e.Attribute("outcome")?.Value == "NotExecuted"))
            {
                var fixture = classes.TryGetValue(result.Attribute("testId")?.Value ?? "", out var name) ? name : "?";
                totals.IgnoredByFixture[fixture] = totals.IgnoredByFixture.TryGetValue(fixture, out var n) ? n + 1 : 1;
            }

            int Count(string name) => int.Parse(counters.Attribute(name)?.Value ?? "0");

            totals.Passed += Count("passed");
            totals.Failed += Count("failed") + Count("error") + Count("timeout") + Count("aborted");
            // Ignored and explicit tests count in total but not in executed (notExecuted stays 0).
            totals.Skipped += Count("total") - Count("executed");
        }

        return totals;
    }
}
