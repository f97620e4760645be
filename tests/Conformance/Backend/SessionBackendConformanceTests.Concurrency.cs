using System.Collections.Concurrent;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Real contention: many callers released at the same moment, repeated so that a narrow race window gets hit.
public abstract partial class SessionBackendConformanceTests
{
    private const int Racers = 32;
    private const int Rounds = 20;

    /// <summary>Of 32 concurrent <see cref="SetCondition.IfAbsent"/> writers on one key, exactly one wins, and its record is the one stored (20 rounds).</summary>
    [Test]
    public virtual async Task Set_if_absent_has_exactly_one_winner_among_concurrent_writers()
    {
        var backend = await NewBackendAsync();
        for (var round = 0; round < Rounds; round++)
        {
            var key = NewKey($"round{round}");
            var records = Enumerable.Range(0, Racers).Select(i => NewRecord(LongTtl, version: i, label: $"racer {i}")).ToArray();

            var results = await Race.RunAsync(Racers, i => backend.SetAsync(key, records[i], SetCondition.IfAbsent, Token), Token);

            var winners = Winners(results);
            Assert.That(winners, Has.Count.EqualTo(1), $"round {round}: racers {string.Join(", ", winners)} all won SetAsync(IfAbsent) on the same key.");
            AssertRecord(await backend.GetAsync(key, Token), records[winners[0]], $"round {round}: the stored record must be the winner's");
        }
    }

    /// <summary>Of 32 concurrent <see cref="SetCondition.IfVersion(long)"/> writers expecting the same version, exactly one wins, and its record is the one stored (20 rounds).</summary>
    [Test]
    public virtual async Task Set_if_version_has_exactly_one_winner_among_concurrent_writers()
    {
        var backend = await NewBackendAsync();
        for (var round = 0; round < Rounds; round++)
        {
            var key = NewKey($"round{round}");
            await backend.SetAsync(key, NewRecord(LongTtl, version: 100, label: "base"), SetCondition.Always, Token);
            var records = Enumerable.Range(0, Racers).Select(i => NewRecord(LongTtl, version: 101 + i, label: $"racer {i}")).ToArray();

            var results = await Race.RunAsync(Racers, i => backend.SetAsync(key, records[i], SetCondition.IfVersion(100), Token), Token);

            var winners = Winners(results);
            Assert.That(winners, Has.Count.EqualTo(1), $"round {round}: racers {string.Join(", ", winners)} all won SetAsync(IfVersion(100)) on the same key.");
            AssertRecord(await backend.GetAsync(key, Token), records[winners[0]], $"round {round}: the stored record must be the winner's");
        }
    }

    /// <summary>Of 32 concurrent removes expecting the same version, exactly one reports the delete (20 rounds).</summary>
    [Test]
    public virtual async Task Remove_with_a_version_has_exactly_one_winner_among_concurrent_removers()
    {
        var backend = await NewBackendAsync();
        for (var round = 0; round < Rounds; round++)
        {
            var key = NewKey($"round{round}");
            await backend.SetAsync(key, NewRecord(LongTtl, version: 77), SetCondition.Always, Token);

            var results = await Race.RunAsync(Racers, _ => backend.RemoveAsync(key, 77, Token), Token);

            Assert.That(Winners(results), Has.Count.EqualTo(1), $"round {round}: the number of concurrent RemoveAsync(77) calls that reported the delete.");
            Assert.That(await backend.GetAsync(key, Token), Is.Null, $"round {round}: the record after the removes");
        }
    }

    /// <summary>
    /// While writers overwrite one key with 32 to 60 KiB payloads, each filled with one byte value tied to its version,
    /// every concurrent read returns one whole written record: never nothing, never a mix or a truncation.
    /// </summary>
    [Test]
    public virtual async Task Reads_during_concurrent_overwrites_see_whole_records()
    {
        const int writers = 2;
        const int writesPerWriter = 100;
        const int readers = 2;
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, Uniform(0), SetCondition.Always, Token);
        var problems = new ConcurrentQueue<string>();
        var reads = 0;
        var writing = 0;

        var readerTasks = Enumerable.Range(0, readers).Select(_ => Task.Run(
            async () =>
            {
                // Reads at least once after the writers finish, so that even a slow reader checks a final record.
                var writersDone = false;
                while (problems.IsEmpty && !writersDone)
                {
                    writersDone = Volatile.Read(ref writing) == writers;
                    var record = await backend.GetAsync(key, Token);
                    Interlocked.Increment(ref reads);
                    if (Torn(record) is { } problem)
                    {
                        problems.Enqueue(problem);
                    }
                }
            },
            Token)).ToArray();
        var writerTasks = Enumerable.Range(0, writers).Select(w => Task.Run(
            async () =>
            {
                for (var i = 1; i <= writesPerWriter; i++)
                {
                    await backend.SetAsync(key, Uniform((w * writesPerWriter) + i), SetCondition.Always, Token);
                }

                Interlocked.Increment(ref writing);
            },
            Token)).ToArray();

        await Task.WhenAll(writerTasks.Concat(readerTasks)).WaitAsync(Token);

        Assert.That(problems, Is.Empty, $"reads during {writers * writesPerWriter} overwrites ({reads} reads in all)");

        static SessionRecord Uniform(long version) =>
            new(Payloads.Filled(UniformLength(version), (byte)(version % 251)), Now + LongTtl, version);

        static int UniformLength(long version) => (32 * 1024) + ((int)(version % 8) * 4 * 1024);

        static string? Torn(SessionRecord? record)
        {
            if (record is null)
            {
                return "a read returned null although a live record was stored throughout (an overwrite must not make the key briefly absent)";
            }

            var payload = record.Payload.Span;
            var fill = (byte)(record.Version % 251);
            if (payload.Length != UniformLength(record.Version))
            {
                return $"version {record.Version} came with {payload.Length} bytes, not the {UniformLength(record.Version)} written with it";
            }

            var stray = payload.IndexOfAnyExcept(fill);
            return stray < 0 ? null : $"version {record.Version} should be all 0x{fill:X2}, but byte {stray} is 0x{payload[stray]:X2}";
        }
    }

    /// <summary>500 records written concurrently (16 at a time) are all stored and all readable.</summary>
    [Test]
    public virtual async Task Many_records_written_concurrently_are_all_readable()
    {
        const int count = 500;
        var backend = await NewBackendAsync();
        var prefix = NewKeyPrefix();
        var records = Enumerable.Range(0, count).Select(i => NewRecord(LongTtl, version: i, label: $"record {i}")).ToArray();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Token };

        var refused = new ConcurrentBag<int>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), parallel, async (i, ct) =>
        {
            if (!await backend.SetAsync($"{prefix}{i}", records[i], SetCondition.IfAbsent, ct))
            {
                refused.Add(i);
            }
        });
        Assert.That(refused, Is.Empty, "records whose SetAsync(IfAbsent) on a fresh key returned false");

        var wrong = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), parallel, async (i, ct) =>
        {
            var stored = await backend.GetAsync($"{prefix}{i}", ct);
            if (stored is null || stored.Version != i || Payloads.Difference(stored.Payload, records[i].Payload) is not null)
            {
                wrong.Add($"{i}: {(stored is null ? "missing" : $"version {stored.Version}")}");
            }
        });
        Assert.That(wrong, Is.Empty, "records that were missing or held another record's data");
    }

    private static List<int> Winners(bool[] results) =>
        results.Select((won, racer) => (won, racer)).Where(r => r.won).Select(r => r.racer).ToList();
}
