using System.Collections.Concurrent;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Defects an earlier kit let through (issue 15): a purger that counts what it scanned rather than what it deleted, stops
// after its first page (the tests wrote at most 5 records), deletes a key re-created live during the purge, or judges
// expiry by the system clock.
public abstract partial class ExpiredSessionPurgerConformanceTests
{
    // More than a page for any sensible page or batch size below 250; a fixture with bigger pages should lower its own.
    private const int ManyExpired = 260;
    private const int ManyLive = 300;

    /// <summary>
    /// A purge of 260 expired records among 300 live ones deletes them all in one call, counts what it deleted (not what it
    /// looked at), and spares every live record; a following purge finds nothing left.
    /// </summary>
    [Test]
    public virtual async Task A_purge_deletes_more_than_a_page_and_counts_only_what_it_deleted()
    {
        var backend = await NewBackendAsync();
        var purger = AsPurger(backend);
        await DrainAsync(purger);
        var prefix = NewKeyPrefix();
        var live = NewRecord(LongTtl, version: 1);
        await WriteManyAsync(backend, Enumerable.Range(0, ManyLive).Select(i => $"{prefix}live:{i}"), live);
        await WriteManyAsync(backend, Enumerable.Range(0, ManyExpired).Select(i => $"{prefix}expired:{i}"), NewRecord(TimeSpan.FromMinutes(-1), version: 2));

        var purged = await purger.PurgeExpiredAsync(Token);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(purged, Is.GreaterThanOrEqualTo(ManyExpired), $"the count of one purge after this test wrote {ManyExpired} expired records (a purge that stops after its first page counts fewer)");
            Assert.That(purged, Is.LessThan(ManyExpired + (ManyLive / 2)), $"the count of one purge of {ManyExpired} expired records among {ManyLive} live ones (a purge that counts the records it looked at counts the live ones too)");
        }

        var lost = new ConcurrentBag<int>();
        await Parallel.ForEachAsync(Enumerable.Range(0, ManyLive), Parallel16, async (i, ct) =>
        {
            if (await backend.GetAsync($"{prefix}live:{i}", ct) is null)
            {
                lost.Add(i);
            }
        });
        Assert.That(lost, Is.Empty, "live records missing after the purge");
        Assert.That(await DrainAsync(purger), Is.True, "a purge after the first still found expired records to delete: the first left some behind");
    }

    /// <summary>
    /// A key whose expired record is re-created live while a purge runs keeps its live record: the purge decides each
    /// delete on the record stored at that moment (a delete conditioned on the expiry, or a re-check under a lock), never
    /// on a list of keys it read earlier.
    /// </summary>
    [Test]
    public virtual async Task A_purge_spares_keys_recreated_live_while_it_runs()
    {
        var backends = await NewBackendsAsync(2);
        var purger = AsPurger(backends[0]);
        var prefix = NewKeyPrefix();
        var keys = Enumerable.Range(0, ManyLive).Select(i => $"{prefix}{i}").ToArray();
        await WriteManyAsync(backends[1], keys, NewRecord(TimeSpan.FromMinutes(-1), version: 1));
        var live = NewRecord(LongTtl, version: 2, label: "re-created");
        Random.Shared.Shuffle(keys);

        var recreated = new ConcurrentBag<string>();
        var purge = Task.Run(async () => await purger.PurgeExpiredAsync(Token), Token);
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Token }, async (key, ct) =>
        {
            if (await backends[1].SetAsync(key, live, SetCondition.IfAbsent, ct))
            {
                recreated.Add(key);
            }
        });
        await purge.WaitAsync(Token);

        Assert.That(recreated, Has.Count.EqualTo(keys.Length), "SetAsync(IfAbsent) over an expired record must write: an expired record counts as absent");
        var lost = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(keys, Parallel16, async (key, ct) =>
        {
            if (await backends[1].GetAsync(key, ct) is null)
            {
                lost.Add(key);
            }
        });
        Assert.That(lost, Is.Empty, $"keys re-created live during the purge that the purge then deleted ({lost.Count} of {keys.Length})");
    }

    /// <summary>
    /// A purge judges expiry by the app's clock: with that clock a day behind the real one, records that expire an hour
    /// later by it are kept; once it passes their expiry, one purge removes all 260 from the store (a backend on an
    /// earlier clock no longer finds them), and keeps a record that still has a day to live.
    /// </summary>
    [Test]
    public virtual async Task A_purge_follows_the_app_clock_and_removes_every_expired_record_from_the_store()
    {
        var clock = FakeClock(-TimeSpan.FromDays(1));
        var earlier = FakeClock(-TimeSpan.FromDays(1));
        var backend = await NewBackendAsync(clock);
        var purger = AsPurger(backend);
        var prefix = NewKeyPrefix();
        var keys = Enumerable.Range(0, ManyExpired).Select(i => $"{prefix}{i}").ToArray();
        var hour = new SessionRecord(Payloads.Text("an hour"), clock.GetUtcNow() + TimeSpan.FromHours(1), 1);
        await WriteManyAsync(backend, keys, hour);
        var lasting = new SessionRecord(Payloads.Text("a day"), clock.GetUtcNow() + TimeSpan.FromDays(1), 2);
        await backend.SetAsync(prefix + "lasting", lasting, SetCondition.Always, Token);

        await purger.PurgeExpiredAsync(Token);
        AssertRecord(await backend.GetAsync(keys[0], Token), hour, "a record an hour from expiry by the app's clock (a day past it by the system clock), after a purge");

        clock.Advance(TimeSpan.FromHours(2));
        var purged = await purger.PurgeExpiredAsync(Token);
        Assert.That(purged, Is.GreaterThanOrEqualTo(ManyExpired), $"the count of one purge after the app's clock passed the expiry of this test's {ManyExpired} records");

        var onEarlierClock = await NewBackendAsync(earlier);
        var left = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(keys, Parallel16, async (key, ct) =>
        {
            if (await onEarlierClock.GetAsync(key, ct) is not null)
            {
                left.Add(key);
            }
        });
        Assert.That(left, Is.Empty, $"records still in the store after the purge (read through a backend whose clock is before their expiry): {left.Count} of {ManyExpired}");
        AssertRecord(await backend.GetAsync(prefix + "lasting", Token), lasting, "a record a day from expiry, after the purge");
    }

    private ParallelOptions Parallel16 => new() { MaxDegreeOfParallelism = 16, CancellationToken = Token };

    /// <summary>Purges until a purge deletes nothing (at most four times); <see langword="false"/> when it never got there.</summary>
    private async Task<bool> DrainAsync(IExpiredSessionPurger purger)
    {
        for (var attempt = 0; attempt < 4; attempt++)
        {
            if (await purger.PurgeExpiredAsync(Token) == 0)
            {
                return true;
            }
        }

        return false;
    }

    private async Task WriteManyAsync(ISessionBackend backend, IEnumerable<string> keys, SessionRecord record)
    {
        var refused = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(keys, Parallel16, async (key, ct) =>
        {
            if (!await backend.SetAsync(key, record, SetCondition.Always, ct))
            {
                refused.Add(key);
            }
        });
        Assert.That(refused, Is.Empty, "SetAsync(Always) calls that returned false");
    }
}
