using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Expiry with real time-to-live values: the core relies on GetAsync never returning an expired record.
public abstract partial class SessionBackendConformanceTests
{
    /// <summary>
    /// A record with a short time-to-live is returned until shortly before its expiry (within the resolution), is gone
    /// by its expiry (within the resolution), and stays gone.
    /// </summary>
    [Test]
    public virtual async Task A_record_is_returned_until_it_expires_and_never_after()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(ShortTtl, version: 1);
        await backend.SetAsync(key, record, SetCondition.Always, Token);

        await AssertStillLiveShortlyBeforeAsync(backend, key, record.ExpiresAt);
        await WaitUntilExpiredAsync(backend, key, record.ExpiresAt);

        await Task.Delay(Resolution, Token);
        Assert.That(await backend.GetAsync(key, Token), Is.Null, "an expired record came back on a later read.");
    }

    /// <summary>A record written with an expiry already in the past is never returned.</summary>
    [Test]
    public virtual async Task A_record_written_already_expired_is_never_returned()
    {
        var backend = await NewBackendAsync();
        var justExpired = NewKey("just");
        var longExpired = NewKey("long");

        await backend.SetAsync(justExpired, NewRecord(-Resolution - TimeSpan.FromMilliseconds(1)), SetCondition.Always, Token);
        await backend.SetAsync(longExpired, NewRecord(TimeSpan.FromDays(-3)), SetCondition.Always, Token);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.GetAsync(justExpired, Token), Is.Null, "a record whose ExpiresAt passed just before it was written");
            Assert.That(await backend.GetAsync(longExpired, Token), Is.Null, "a record whose ExpiresAt passed three days before it was written");
        }
    }

    /// <summary>
    /// An expiry more than 30 days away is honoured as the instant it is (Memcached, for one, reads a relative
    /// time-to-live above 30 days as an absolute Unix time in 1970).
    /// </summary>
    [Test]
    public virtual async Task A_far_future_expiry_is_honoured()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(TimeSpan.FromDays(400), version: 1);

        await backend.SetAsync(key, record, SetCondition.Always, Token);

        AssertRecord(await backend.GetAsync(key, Token), record, "a record expiring in 400 days");
    }

    /// <summary>An expiry is an instant: a record whose <see cref="SessionRecord.ExpiresAt"/> carries a non-UTC offset lives exactly as long as its UTC equivalent.</summary>
    [Test]
    public virtual async Task Expiry_is_an_instant_whatever_its_offset()
    {
        var backend = await NewBackendAsync();
        var liveWest = NewKey("west");
        var expiredEast = NewKey("east");
        var live = new SessionRecord(Payloads.Text("west"), (Now + LongTtl).ToOffset(TimeSpan.FromHours(-10)), 1);
        var expired = new SessionRecord(Payloads.Text("east"), (Now - TimeSpan.FromMinutes(1)).ToOffset(TimeSpan.FromHours(14)), 1);

        await backend.SetAsync(liveWest, live, SetCondition.Always, Token);
        await backend.SetAsync(expiredEast, expired, SetCondition.Always, Token);

        // Reading the clock time and dropping the offset would expire the first (10 h early) and keep the second (14 h late).
        AssertRecord(await backend.GetAsync(liveWest, Token), live, "a live record whose expiry is written at UTC-10:00");
        Assert.That(await backend.GetAsync(expiredEast, Token), Is.Null, "an expired record whose expiry is written at UTC+14:00");
    }
}
