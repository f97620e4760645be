using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Defects an earlier kit let through (issue 15): a touch written as read-then-write, conditional writes atomic only inside
// one instance, a record returned at exactly its ExpiresAt, a backend on the system clock instead of the app's, and an
// offset or local time taken for UTC. Races here use several instances from CreateBackendAsync, as separate app servers.
public abstract partial class SessionBackendConformanceTests
{
    private const int Instances = 4;
    private const int TouchRounds = 100;
    private const int Touchers = 3;

    /// <summary>
    /// A remove while touches run steadily from several instances never has the record come back: once the remove
    /// has reported the delete and the touches in flight have finished, the key stays empty. A touch that reads the record
    /// and writes it back whole fails this (100 rounds).
    /// </summary>
    [Test]
    public virtual async Task A_touch_racing_a_remove_never_brings_the_record_back()
    {
        var backends = await NewBackendsAsync(Instances);
        for (var round = 0; round < TouchRounds; round++)
        {
            var key = NewKey($"round{round}");
            await backends[0].SetAsync(key, NewRecord(LongTtl, version: 5), SetCondition.Always, Token);

            var removed = await WhileTouchingAsync(backends, key, Now + (2 * LongTtl), () => backends[0].RemoveAsync(key, null, Token));

            Assert.That(removed, Is.True, $"round {round}: RemoveAsync of a live record must report the delete.");
            var after = await backends[1].GetAsync(key, Token);
            Assert.That(
                after,
                Is.Null,
                $"round {round}: the record is back (version {after?.Version}) after RemoveAsync reported the delete; a concurrent TouchAsync " +
                "must move the expiry of a live record in place (one atomic store operation), never read it and write it back.");
        }
    }

    /// <summary>
    /// A conditional write while touches run steadily from several instances is never undone: the write wins, and its
    /// payload and version stay. A read-then-write touch restores the replaced version and fails this (100 rounds).
    /// </summary>
    [Test]
    public virtual async Task A_touch_racing_a_conditional_write_never_restores_the_old_version()
    {
        var backends = await NewBackendsAsync(Instances);
        for (var round = 0; round < TouchRounds; round++)
        {
            var key = NewKey($"round{round}");
            await backends[0].SetAsync(key, NewRecord(LongTtl, version: 1, label: "old"), SetCondition.Always, Token);
            var successor = NewRecord(LongTtl, version: 2, label: $"new {round}");

            var written = await WhileTouchingAsync(backends, key, Now + (2 * LongTtl), () => backends[0].SetAsync(key, successor, SetCondition.IfVersion(1), Token));

            Assert.That(written, Is.True, $"round {round}: SetAsync(IfVersion(1)) of a live version-1 record must write; a touch does not change the version.");
            var after = await backends[1].GetAsync(key, Token);
            Assert.That(after, Is.Not.Null, $"round {round}: the record vanished.");
            using (Assert.EnterMultipleScope())
            {
                Assert.That(after!.Version, Is.EqualTo(2), $"round {round}: a concurrent TouchAsync wrote back the version the conditional write had replaced (a read-then-write touch).");
                Assert.That(Payloads.Difference(after.Payload, successor.Payload), Is.Null, $"round {round}: payload after the race");
            }
        }
    }

    /// <summary>
    /// Of 32 <see cref="SetCondition.IfAbsent"/> writers spread over four instances sharing the store, exactly one wins
    /// (20 rounds): the condition is decided by the store, not by a lock inside one instance.
    /// </summary>
    [Test]
    public virtual async Task Set_if_absent_has_exactly_one_winner_across_instances()
    {
        var backends = await NewBackendsAsync(Instances);
        for (var round = 0; round < Rounds; round++)
        {
            var key = NewKey($"round{round}");
            var records = Enumerable.Range(0, Racers).Select(i => NewRecord(LongTtl, version: i, label: $"racer {i}")).ToArray();

            var results = await Race.RunAsync(Racers, i => backends[i % Instances].SetAsync(key, records[i], SetCondition.IfAbsent, Token), Token);

            var winners = Winners(results);
            Assert.That(winners, Has.Count.EqualTo(1), $"round {round}: racers {string.Join(", ", winners)} (on instances {string.Join(", ", winners.Select(w => w % Instances))}) all won SetAsync(IfAbsent) on one key.");
            AssertRecord(await backends[(winners[0] + 1) % Instances].GetAsync(key, Token), records[winners[0]], $"round {round}: the stored record, read through another instance");
        }
    }

    /// <summary>
    /// Of 32 <see cref="SetCondition.IfVersion(long)"/> writers spread over four instances, each passing the token its own
    /// instance read, exactly one wins (20 rounds).
    /// </summary>
    [Test]
    public virtual async Task Set_if_version_has_exactly_one_winner_across_instances()
    {
        var backends = await NewBackendsAsync(Instances);
        for (var round = 0; round < Rounds; round++)
        {
            var key = NewKey($"round{round}");
            await backends[0].SetAsync(key, NewRecord(LongTtl, version: 100, label: "base"), SetCondition.Always, Token);
            var tokens = new object?[Instances];
            for (var i = 0; i < Instances; i++)
            {
                tokens[i] = (await backends[i].GetAsync(key, Token))?.ConcurrencyToken;
            }

            var records = Enumerable.Range(0, Racers).Select(i => NewRecord(LongTtl, version: 101 + i, label: $"racer {i}")).ToArray();

            var results = await Race.RunAsync(
                Racers,
                i => backends[i % Instances].SetAsync(key, records[i], SetCondition.IfVersion(100, tokens[i % Instances]), Token),
                Token);

            var winners = Winners(results);
            Assert.That(winners, Has.Count.EqualTo(1), $"round {round}: racers {string.Join(", ", winners)} (on instances {string.Join(", ", winners.Select(w => w % Instances))}) all won SetAsync(IfVersion(100)) on one key.");
            AssertRecord(await backends[(winners[0] + 1) % Instances].GetAsync(key, Token), records[winners[0]], $"round {round}: the stored record, read through another instance");
        }
    }

    /// <summary>Of 32 removes expecting the same version, spread over four instances, exactly one reports the delete (20 rounds).</summary>
    [Test]
    public virtual async Task Remove_with_a_version_has_exactly_one_winner_across_instances()
    {
        var backends = await NewBackendsAsync(Instances);
        for (var round = 0; round < Rounds; round++)
        {
            var key = NewKey($"round{round}");
            await backends[0].SetAsync(key, NewRecord(LongTtl, version: 77), SetCondition.Always, Token);

            var results = await Race.RunAsync(Racers, i => backends[i % Instances].RemoveAsync(key, 77, Token), Token);

            Assert.That(Winners(results), Has.Count.EqualTo(1), $"round {round}: the number of RemoveAsync(77) calls, over {Instances} instances, that reported the delete.");
        }
    }

    /// <summary>
    /// With the app's clock (a fake one), a record is live one resolution before its <see cref="SessionRecord.ExpiresAt"/>
    /// and gone at exactly that instant: <c>ExpiresAt</c> is the first moment the record no longer exists.
    /// </summary>
    [Test]
    public virtual async Task A_record_is_gone_at_exactly_its_expiry()
    {
        var clock = FakeClock(TimeSpan.Zero);
        var backend = await NewBackendAsync(clock);
        var key = NewKey();
        var record = new SessionRecord(Payloads.Text("boundary"), clock.GetUtcNow() + TimeSpan.FromHours(1), 9);
        Assert.That(await backend.SetAsync(key, record, SetCondition.Always, Token), Is.True, "SetAsync(Always)");

        clock.SetUtcNow(record.ExpiresAt - Resolution);
        AssertRecord(await backend.GetAsync(key, Token), record, $"GetAsync one resolution ({Resolution.TotalMilliseconds:F0} ms) before ExpiresAt");

        clock.SetUtcNow(record.ExpiresAt);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.GetAsync(key, Token), Is.Null, "GetAsync at exactly ExpiresAt: the record has expired (compare with <=, not <)");
            Assert.That(await backend.TouchAsync(key, record.ExpiresAt + TimeSpan.FromHours(1), Token), Is.False, "TouchAsync at exactly ExpiresAt must not revive the record");
            Assert.That(await backend.SetAsync(key, NewRecord(LongTtl, version: 10), SetCondition.IfVersion(9), Token), Is.False, "SetAsync(IfVersion) at exactly ExpiresAt: there is no live record");
        }
    }

    /// <summary>
    /// The backend judges expiry by the clock it was given, not the system clock: with the app's clock a day behind the real
    /// one, a record expiring an hour later by that clock (a day ago in real time) is live, and is gone once the clock
    /// passes its expiry; conditional writes and touches agree.
    /// </summary>
    [Test]
    public virtual async Task Expiry_follows_the_app_clock_when_it_is_behind_the_system_clock()
    {
        var clock = FakeClock(-TimeSpan.FromDays(1));
        var backend = await NewBackendAsync(clock);
        var key = NewKey();
        var record = new SessionRecord(Payloads.Text("app clock behind"), clock.GetUtcNow() + TimeSpan.FromHours(1), 3);

        Assert.That(await backend.SetAsync(key, record, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) of a fresh key");
        AssertRecord(await backend.GetAsync(key, Token), record, "a record an hour from expiry by the app's clock (a day past it by the system clock)");
        Assert.That(await backend.SetAsync(key, record, SetCondition.IfAbsent, Token), Is.False, "SetAsync(IfAbsent) over that live record");
        var touchedUntil = clock.GetUtcNow() + TimeSpan.FromHours(2);
        Assert.That(await backend.TouchAsync(key, touchedUntil, Token), Is.True, "TouchAsync of that live record");

        clock.Advance(TimeSpan.FromHours(3));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.GetAsync(key, Token), Is.Null, "GetAsync after the app's clock passed the touched expiry");
            Assert.That(await backend.TouchAsync(key, clock.GetUtcNow() + TimeSpan.FromHours(1), Token), Is.False, "TouchAsync of the expired record");
        }

        var next = new SessionRecord(Payloads.Text("after"), clock.GetUtcNow() + TimeSpan.FromHours(1), 4);
        Assert.That(await backend.SetAsync(key, next, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) over the record expired by the app's clock");
        AssertRecord(await backend.GetAsync(key, Token), next, "the record written over the expired one");
    }

    /// <summary>
    /// The backend judges expiry by the clock it was given when that clock is a day ahead of the real one: a record whose
    /// expiry is still a day away in real time is gone once the app's clock passes it.
    /// </summary>
    [Test]
    public virtual async Task Expiry_follows_the_app_clock_when_it_is_ahead_of_the_system_clock()
    {
        var clock = FakeClock(TimeSpan.FromDays(1));
        var backend = await NewBackendAsync(clock);
        var key = NewKey();
        var record = new SessionRecord(Payloads.Text("app clock ahead"), clock.GetUtcNow() + TimeSpan.FromHours(1), 3);
        Assert.That(await backend.SetAsync(key, record, SetCondition.Always, Token), Is.True, "SetAsync(Always)");
        AssertRecord(await backend.GetAsync(key, Token), record, "a record an hour from expiry by the app's clock");

        clock.Advance(TimeSpan.FromHours(2));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.GetAsync(key, Token), Is.Null, "GetAsync after the app's clock passed ExpiresAt (the system clock is still a day before it)");
            Assert.That(await backend.RemoveAsync(key, 3, Token), Is.False, "RemoveAsync(3) of a record expired by the app's clock: no live record was deleted");
        }
    }

    /// <summary>
    /// An expiry given at any UTC offset means the same instant: a record whose <see cref="SessionRecord.ExpiresAt"/> carries
    /// +14:00 or -12:00 expires when that instant passes, and reads back as the same instant. A backend that stores the
    /// clock time without its offset (<c>DateTimeOffset.DateTime</c>), or takes local time for UTC, fails this; run the kit
    /// once under a non-UTC <c>TZ</c> as well (see the kit README).
    /// </summary>
    [Test]
    public virtual async Task Expiry_given_at_any_offset_means_the_same_instant()
    {
        var backend = await NewBackendAsync();
        var prefix = NewKeyPrefix();
        var east = new SessionRecord(Payloads.Text("east"), (Now + ShortTtl).ToOffset(TimeSpan.FromHours(14)), 1);
        var west = new SessionRecord(Payloads.Text("west"), (Now + LongTtl).ToOffset(TimeSpan.FromHours(-12)), 2);
        Assert.That(await backend.SetAsync(prefix + "east", east, SetCondition.Always, Token), Is.True, "SetAsync of an expiry at +14:00");
        Assert.That(await backend.SetAsync(prefix + "west", west, SetCondition.Always, Token), Is.True, "SetAsync of an expiry at -12:00");

        AssertRecord(await backend.GetAsync(prefix + "west", Token), west, "a record expiring in an hour, given at -12:00 (taken as UTC it would have expired 12 hours ago)");
        var touchedUntil = (Now + LongTtl).ToOffset(TimeSpan.FromHours(-9.5));
        Assert.That(await backend.TouchAsync(prefix + "west", touchedUntil, Token), Is.True, "TouchAsync to an expiry given at -09:30");
        AssertRecord(await backend.GetAsync(prefix + "west", Token), west with { ExpiresAt = touchedUntil }, "the record touched to an expiry at -09:30");

        // Taken as UTC, +14:00 would live 14 hours longer.
        await WaitUntilExpiredAsync(backend, prefix + "east", east.ExpiresAt);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> while <see cref="Touchers"/> callers, spread over the instances, touch
    /// <paramref name="key"/> about once a millisecond each; returns once the touches in flight at the operation's end have finished.
    /// </summary>
    private async Task<T> WhileTouchingAsync<T>(ISessionBackend[] backends, string key, DateTimeOffset touchUntil, Func<ValueTask<T>> operation)
    {
        var touches = 0;
        var stop = false;
        var touchers = Enumerable.Range(1, Touchers).Select(i => Task.Run(
            async () =>
            {
                var backend = backends[i % backends.Length];
                while (!Volatile.Read(ref stop))
                {
                    await backend.TouchAsync(key, touchUntil, Token);
                    Interlocked.Increment(ref touches);

                    // About a touch per millisecond each: steady contention, not a storm that starves a store's CAS loop.
                    await Task.Delay(1, Token);
                }
            },
            Token)).ToArray();

        await UntilAsync(() => Volatile.Read(ref touches) >= Touchers);
        var result = await operation();
        var atEnd = Volatile.Read(ref touches);
        await UntilAsync(() => Volatile.Read(ref touches) >= atEnd + Touchers);
        Volatile.Write(ref stop, true);
        await Task.WhenAll(touchers).WaitAsync(Token);
        return result;

        async Task UntilAsync(Func<bool> condition)
        {
            while (!condition())
            {
                Token.ThrowIfCancellationRequested();
                if (touchers.FirstOrDefault(t => t.IsFaulted) is { } failed)
                {
                    await failed;
                }

                await Task.Delay(1, Token);
            }
        }
    }
}
