using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// TouchAsync: moving a live record's expiry without rewriting it.
public abstract partial class SessionBackendConformanceTests
{
    /// <summary>A touch moves the expiry and nothing else: payload and version are unchanged.</summary>
    [Test]
    public virtual async Task Touch_changes_only_the_expiry()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(LongTtl, version: 21);
        await backend.SetAsync(key, record, SetCondition.Always, Token);
        var newExpiry = Now + (3 * LongTtl);

        Assert.That(await backend.TouchAsync(key, newExpiry, Token), Is.True, "TouchAsync on a live record must return true.");

        AssertRecord(await backend.GetAsync(key, Token), record with { ExpiresAt = newExpiry }, "the touched record");
    }

    /// <summary>A touched record outlives its old expiry, with payload and version unchanged.</summary>
    [Test]
    public virtual async Task Touch_extends_a_live_record_past_its_old_expiry()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(ShortTtl, version: 5);
        await backend.SetAsync(key, record, SetCondition.Always, Token);
        var extended = record with { ExpiresAt = Now + LongTtl };

        Assert.That(await backend.TouchAsync(key, extended.ExpiresAt, Token), Is.True, "TouchAsync on a live record must return true.");

        await DelayUntilAsync(record.ExpiresAt + Resolution + TimeSpan.FromMilliseconds(100));
        AssertRecord(await backend.GetAsync(key, Token), extended, "the touched record after its old expiry");
    }

    /// <summary>A touch can also bring the expiry closer; the record then expires at the new time.</summary>
    [Test]
    public virtual async Task Touch_can_shorten_the_expiry()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(LongTtl, version: 5);
        await backend.SetAsync(key, record, SetCondition.Always, Token);
        var shortened = record with { ExpiresAt = Now + ShortTtl };

        Assert.That(await backend.TouchAsync(key, shortened.ExpiresAt, Token), Is.True, "TouchAsync on a live record must return true.");

        AssertRecord(await backend.GetAsync(key, Token), shortened, "the record right after the shortening touch");
        await WaitUntilExpiredAsync(backend, key, shortened.ExpiresAt);
    }

    /// <summary>Touching a key that holds nothing reports false and creates nothing.</summary>
    [Test]
    public virtual async Task Touch_of_a_missing_key_returns_false()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();

        Assert.That(await backend.TouchAsync(key, Now + LongTtl, Token), Is.False, "TouchAsync on a missing key must return false.");

        Assert.That(await backend.GetAsync(key, Token), Is.Null, "TouchAsync must not create a record.");
    }

    /// <summary>Touching an expired record reports false and does not revive it: an expired session stays expired.</summary>
    [Test]
    public virtual async Task Touch_of_an_expired_record_returns_false_and_does_not_revive_it()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await WriteAndLetExpireAsync(backend, key, NewRecord(ShortTtl, version: 3));

        Assert.That(await backend.TouchAsync(key, Now + LongTtl, Token), Is.False, "TouchAsync on an expired record must return false.");

        Assert.That(await backend.GetAsync(key, Token), Is.Null, "TouchAsync revived an expired record.");
    }

    /// <summary>Touching a removed key reports false and does not bring the record back.</summary>
    [Test]
    public virtual async Task Touch_of_a_removed_record_returns_false_and_does_not_revive_it()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(LongTtl), SetCondition.Always, Token);
        await backend.RemoveAsync(key, null, Token);

        Assert.That(await backend.TouchAsync(key, Now + LongTtl, Token), Is.False, "TouchAsync on a removed record must return false.");

        Assert.That(await backend.GetAsync(key, Token), Is.Null, "TouchAsync revived a removed record.");
    }
}
