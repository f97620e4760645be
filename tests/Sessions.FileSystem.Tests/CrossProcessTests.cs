using System.Buffers.Binary;
using System.Globalization;
using NUnit.Framework;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>Two OS processes sharing one directory: conditional writes stay atomic, so no update is lost.</summary>
public sealed class CrossProcessTests : FileSystemBackendTestBase
{
    private const int IncrementsPerProcess = 200;

    [Test]
    public async Task Two_processes_racing_IfVersion_increments_lose_no_update()
    {
        var root = FixtureDirectory.NewSubdirectoryPath("race");
        const string key = "session:counter";
        var count = IncrementsPerProcess.ToString(CultureInfo.InvariantCulture);

        using var first = RaceWorkerProcess.Start("increment", root, key, count);
        using var second = RaceWorkerProcess.Start("increment", root, key, count);
        Assert.That(await first.ReadLineAsync(), Is.EqualTo("ready"), first.StandardError);
        Assert.That(await second.ReadLineAsync(), Is.EqualTo("ready"), second.StandardError);

        await Task.WhenAll(first.SendLineAsync("go"), second.SendLineAsync("go"));
        var reports = await Task.WhenAll(first.ReadLineAsync(), second.ReadLineAsync());
        var exitCodes = await Task.WhenAll(first.WaitForExitAsync(), second.WaitForExitAsync());

        Assert.That(exitCodes, Is.All.Zero, $"stderr:\n{first.StandardError}\n{second.StandardError}");
        var (conflictsA, startA, endA) = Parse(reports[0]);
        var (conflictsB, startB, endB) = Parse(reports[1]);
        var counter = await NewBackend(root: root).GetAsync(key, default);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(counter, Is.Not.Null);
            Assert.That(BinaryPrimitives.ReadInt64LittleEndian(counter!.Payload.Span), Is.EqualTo(2 * IncrementsPerProcess), "no increment was lost");
            Assert.That(counter.Version, Is.EqualTo(2 * IncrementsPerProcess), "one version per successful write");
            Assert.That(startA < endB && startB < endA, Is.True, "the two processes ran at the same time");
            Assert.That(conflictsA + conflictsB, Is.Positive, "their writes really collided (some IfVersion writes were refused)");
            Assert.That(TempFiles(root), Is.Empty);
        }

        TestContext.Out.WriteLine($"conflicts: {conflictsA} + {conflictsB}");
    }

    private static (long Conflicts, long Started, long Finished) Parse(string report)
    {
        var parts = report.Split(' ');
        Assert.That(parts, Has.Length.EqualTo(4).And.Some.EqualTo("done"), $"unexpected report \"{report}\"");
        return (long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture), long.Parse(parts[3], CultureInfo.InvariantCulture));
    }
}
