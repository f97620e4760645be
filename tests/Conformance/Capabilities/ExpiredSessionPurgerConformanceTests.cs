using System.Diagnostics;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

/// <summary>
/// The <see cref="IExpiredSessionPurger"/> capability: deletes expired records, counts them, and spares live ones.
/// Subclass it only for a backend that implements the interface (excuse it in
/// <see cref="ConformanceCompletenessTests.ExcusedFixtures"/> otherwise).
/// </summary>
/// <remarks>
/// The store may be shared with other tests, so a purge may also delete other tests' expired records: counts are
/// checked as "at least this test's", and the records checked are only this test's.
/// </remarks>
[ConformanceFixture]
public abstract partial class ExpiredSessionPurgerConformanceTests : BackendConformanceFixture
{
    /// <summary>A purge deletes records that expired while stored and counts at least those.</summary>
    [Test]
    public virtual async Task Purge_deletes_records_that_expired_and_counts_them()
    {
        const int expired = 5;
        var backend = await NewBackendAsync();
        var purger = AsPurger(backend);
        var prefix = NewKeyPrefix();
        var record = NewRecord(ShortTtl);
        for (var i = 0; i < expired; i++)
        {
            await backend.SetAsync($"{prefix}{i}", record, SetCondition.Always, Token);
        }

        await WaitUntilExpiredAsync(backend, $"{prefix}{expired - 1}", record.ExpiresAt);

        Assert.That(await purger.PurgeExpiredAsync(Token), Is.GreaterThanOrEqualTo(expired), $"the count of a purge after this test's {expired} records expired");
    }

    /// <summary>A purge deletes records that were written with an expiry already in the past, and counts them.</summary>
    [Test]
    public virtual async Task Purge_deletes_records_written_already_expired()
    {
        const int expired = 3;
        var backend = await NewBackendAsync();
        var purger = AsPurger(backend);
        var prefix = NewKeyPrefix();
        for (var i = 0; i < expired; i++)
        {
            await backend.SetAsync($"{prefix}{i}", NewRecord(TimeSpan.FromMinutes(-1)), SetCondition.Always, Token);
        }

        Assert.That(await purger.PurgeExpiredAsync(Token), Is.GreaterThanOrEqualTo(expired), $"the count of a purge after this test wrote {expired} expired records");
    }

    /// <summary>A purge leaves live records exactly as they were, including ones that will expire soon.</summary>
    [Test]
    public virtual async Task Purge_keeps_live_records()
    {
        var backend = await NewBackendAsync();
        var purger = AsPurger(backend);
        var prefix = NewKeyPrefix();
        var lasting = NewRecord(LongTtl, version: 1);
        var soon = NewRecord(TimeSpan.FromSeconds(30), version: 2);
        await backend.SetAsync(prefix + "lasting", lasting, SetCondition.Always, Token);
        await backend.SetAsync(prefix + "soon", soon, SetCondition.Always, Token);
        await backend.SetAsync(prefix + "expired", NewRecord(TimeSpan.FromMinutes(-1)), SetCondition.Always, Token);

        await purger.PurgeExpiredAsync(Token);

        AssertRecord(await backend.GetAsync(prefix + "lasting", Token), lasting, "a record with an hour to live, after a purge");
        AssertRecord(await backend.GetAsync(prefix + "soon", Token), soon, "a record with seconds to live, after a purge");
    }

    /// <summary>
    /// A purge judges a record by its current expiry: a record touched, or rewritten, to live longer is not purged when
    /// its original expiry passes (an expiry index must follow touches and overwrites).
    /// </summary>
    [Test]
    public virtual async Task Purge_uses_the_current_expiry_of_touched_and_rewritten_records()
    {
        var backend = await NewBackendAsync();
        var purger = AsPurger(backend);
        var prefix = NewKeyPrefix();
        var original = NewRecord(ShortTtl, version: 1);
        var rewritten = NewRecord(LongTtl, version: 2);
        await backend.SetAsync(prefix + "touched", original, SetCondition.Always, Token);
        await backend.SetAsync(prefix + "rewritten", original, SetCondition.Always, Token);
        var touchedUntil = Now + LongTtl;
        Assert.That(await backend.TouchAsync(prefix + "touched", touchedUntil, Token), Is.True, "TouchAsync of a live record");
        Assert.That(await backend.SetAsync(prefix + "rewritten", rewritten, SetCondition.IfVersion(1), Token), Is.True, "SetAsync(IfVersion(1)) of a live record");

        await DelayUntilAsync(original.ExpiresAt + Resolution + TimeSpan.FromMilliseconds(100));
        await purger.PurgeExpiredAsync(Token);

        AssertRecord(await backend.GetAsync(prefix + "touched", Token), original with { ExpiresAt = touchedUntil }, "a touched record, purged after its original expiry");
        AssertRecord(await backend.GetAsync(prefix + "rewritten", Token), rewritten, "a rewritten record, purged after its original expiry");
    }

    /// <summary>
    /// What a purge deleted stays deleted: a following purge finds nothing left (allowing a retry or two in case other
    /// tests' records expired in between).
    /// </summary>
    [Test]
    public virtual async Task A_second_purge_finds_nothing_left_to_delete()
    {
        const int expired = 5;
        var backend = await NewBackendAsync();
        var purger = AsPurger(backend);
        var prefix = NewKeyPrefix();
        for (var i = 0; i < expired; i++)
        {
            await backend.SetAsync($"{prefix}{i}", NewRecord(TimeSpan.FromMinutes(-1)), SetCondition.Always, Token);
        }

        var first = await purger.PurgeExpiredAsync(Token);
        Assert.That(first, Is.GreaterThanOrEqualTo(expired), "the count of the first purge");

        var later = new List<long>();
        for (var attempt = 0; attempt < 3 && (later.Count == 0 || later[^1] != 0); attempt++)
        {
            later.Add(await purger.PurgeExpiredAsync(Token));
        }

        Assert.That(later[^1], Is.Zero, $"the counts of the purges after the first ({string.Join(", ", later)}); the first purge counted {first}, so its records were reported deleted but are still there");
    }

    /// <summary>Purging with an already-cancelled token throws <see cref="OperationCanceledException"/>.</summary>
    [Test]
    public virtual async Task Purge_with_a_cancelled_token_throws()
    {
        var backend = await NewBackendAsync();
        var purger = AsPurger(backend);
        var prefix = NewKeyPrefix();
        await backend.SetAsync(prefix + "live", NewRecord(LongTtl), SetCondition.Always, Token);
        await backend.SetAsync(prefix + "expired", NewRecord(TimeSpan.FromMinutes(-1)), SetCondition.Always, Token);

        await Assert.ThatAsync(async () => await purger.PurgeExpiredAsync(new CancellationToken(canceled: true)), Throws.InstanceOf<OperationCanceledException>());
    }

    private IExpiredSessionPurger AsPurger(ISessionBackend backend)
    {
        if (backend is IExpiredSessionPurger purger)
        {
            return purger;
        }

        Assert.Fail(
            $"{backend.GetType().Name} does not implement IExpiredSessionPurger, yet {GetType().Name} subclasses ExpiredSessionPurgerConformanceTests. " +
            "Subclass it only for a backend that purges; otherwise excuse it in ConformanceCompletenessTests.ExcusedFixtures.");
        throw new UnreachableException();
    }
}
