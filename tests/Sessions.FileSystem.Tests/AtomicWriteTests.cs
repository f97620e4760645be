using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>Writes go to a temp file that is renamed over the record: nothing is left behind, readers never see half a file.</summary>
public sealed class AtomicWriteTests : FileSystemBackendTestBase
{
    [Test]
    public async Task No_temp_files_remain_after_sets_touches_removes_and_conflicts()
    {
        var backend = NewBackend();
        for (var i = 0; i < 20; i++)
        {
            var key = $"session:w{i}";
            await backend.SetAsync(key, Record("a", InAnHour), SetCondition.IfAbsent, default);
            await backend.SetAsync(key, Record("b", InAnHour, 2), SetCondition.IfVersion(1), default);
            await backend.SetAsync(key, Record("lost", InAnHour, 3), SetCondition.IfVersion(1), default);
            await backend.TouchAsync(key, InAnHour.AddMinutes(5), default);
            if (i % 2 == 0)
            {
                await backend.RemoveAsync(key, expectedVersion: 2, default);
            }
        }

        var racers = Enumerable.Range(0, 16).Select(i => backend.SetAsync("session:w1", Record($"r{i}", InAnHour, 10 + i), SetCondition.IfVersion(2), default).AsTask());
        var won = await Task.WhenAll(racers);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(won.Count(w => w), Is.EqualTo(1), "exactly one of 16 concurrent IfVersion writers wins");
            Assert.That(TempFiles(backend.RootDirectory), Is.Empty);
            Assert.That(Directory.GetFiles(backend.RootDirectory, "*.session", SearchOption.AllDirectories), Has.Length.EqualTo(10));
        }
    }

    [Test]
    public async Task Readers_racing_a_writer_see_a_whole_old_or_new_record_never_a_torn_or_missing_one()
    {
        var backend = NewBackend();
        const string key = "session:hot";
        var big = new string('x', 256 * 1024); // larger than one write, so a torn file would show
        await backend.SetAsync(key, Record("0" + big, InAnHour), SetCondition.Always, default);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var writer = Task.Run(async () =>
        {
            for (var i = 1; !stop.IsCancellationRequested; i++)
            {
                await backend.SetAsync(key, Record((i % 10) + big, InAnHour, i), SetCondition.Always, default);
            }
        });

        var reads = 0;
        var bad = new List<string>();
        while (!writer.IsCompleted)
        {
            var record = await backend.GetAsync(key, default);
            reads++;
            if (record is null || record.Payload.Length != big.Length + 1)
            {
                bad.Add(record is null ? "null" : $"{record.Payload.Length} bytes");
            }
        }

        await writer;
        Assert.That(bad, Is.Empty, $"{reads} reads during continuous replacement");
        Assert.That(reads, Is.GreaterThan(10));
    }

    [Test]
    public async Task Fsync_option_writes_durable_records_the_same_way()
    {
        var backend = NewBackend(o => o.Fsync = true);

        Assert.That(await backend.SetAsync("session:durable", Record("on disk", InAnHour), SetCondition.IfAbsent, default), Is.True);
        Assert.That(await backend.TouchAsync("session:durable", InAnHour.AddHours(1), default), Is.True);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(TextOf(await backend.GetAsync("session:durable", default)), Is.EqualTo("on disk"));
            Assert.That(File.Exists(ExpectedPath(backend, "session:durable")));
            Assert.That(TempFiles(backend.RootDirectory), Is.Empty);
        }
    }

    [Test]
    public async Task A_record_written_already_expired_reads_as_missing_until_purged()
    {
        var backend = NewBackend();
        await backend.SetAsync("session:old", Record("live", InAnHour), SetCondition.Always, default);

        Assert.That(await backend.SetAsync("session:old", Record("dead", DateTimeOffset.UtcNow.AddSeconds(-1), 2), SetCondition.IfVersion(1), default), Is.True);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.GetAsync("session:old", default), Is.Null);
            Assert.That(await backend.SetAsync("session:old", Record("new", InAnHour, 3), SetCondition.IfVersion(2), default), Is.False, "an expired record has no version to match");
            Assert.That(await backend.PurgeExpiredAsync(default), Is.EqualTo(1));
            Assert.That(File.Exists(ExpectedPath(backend, "session:old")), Is.False);
        }
    }
}
