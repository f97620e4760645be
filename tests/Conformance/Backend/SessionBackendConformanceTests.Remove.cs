using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// RemoveAsync: unconditional and version-checked deletes, and what they report.
public abstract partial class SessionBackendConformanceTests
{
    /// <summary>Remove without a version deletes a live record and reports it; a second remove finds nothing.</summary>
    [Test]
    public virtual async Task Remove_without_a_version_deletes_the_record()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(LongTtl, version: 3), SetCondition.Always, Token);

        Assert.That(await backend.RemoveAsync(key, null, Token), Is.True, "RemoveAsync(null) of a live record must return true.");

        Assert.That(await backend.GetAsync(key, Token), Is.Null, "GetAsync after RemoveAsync");
        Assert.That(await backend.RemoveAsync(key, null, Token), Is.False, "a second RemoveAsync must return false: nothing is left to delete.");
    }

    /// <summary>Remove with the live record's version deletes it.</summary>
    [Test]
    public virtual async Task Remove_with_the_matching_version_deletes_the_record()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(LongTtl, version: 8), SetCondition.Always, Token);

        Assert.That(await backend.RemoveAsync(key, 8, Token), Is.True, "RemoveAsync(8) of version 8 must return true.");

        Assert.That(await backend.GetAsync(key, Token), Is.Null, "GetAsync after RemoveAsync with the matching version");
    }

    /// <summary>Remove with another version reports false and leaves the record intact: a stale logout cannot delete a newer session.</summary>
    [Test]
    public virtual async Task Remove_with_a_different_version_keeps_the_record()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(LongTtl, version: 8);
        await backend.SetAsync(key, record, SetCondition.Always, Token);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.RemoveAsync(key, 7, Token), Is.False, "RemoveAsync(7) of version 8");
            Assert.That(await backend.RemoveAsync(key, 9, Token), Is.False, "RemoveAsync(9) of version 8");
        }

        AssertRecord(await backend.GetAsync(key, Token), record, "the record after refused removes");
    }

    /// <summary>Removing a key that holds nothing reports false, with or without a version.</summary>
    [Test]
    public virtual async Task Remove_of_a_missing_key_returns_false()
    {
        var backend = await NewBackendAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.RemoveAsync(NewKey(), null, Token), Is.False, "RemoveAsync(null) of a missing key");
            Assert.That(await backend.RemoveAsync(NewKey(), 0, Token), Is.False, "RemoveAsync(0) of a missing key");
        }
    }

    /// <summary>Removing an expired record reports false: only a live record counts as deleted.</summary>
    [Test]
    public virtual async Task Remove_of_an_expired_record_returns_false()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var withVersion = NewKey("versioned");
        var versioned = NewRecord(ShortTtl, version: 4);
        await backend.SetAsync(withVersion, versioned, SetCondition.Always, Token);
        await WriteAndLetExpireAsync(backend, key, NewRecord(ShortTtl, version: 4));
        await WaitUntilExpiredAsync(backend, withVersion, versioned.ExpiresAt);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.RemoveAsync(key, null, Token), Is.False, "RemoveAsync(null) of an expired record");
            Assert.That(await backend.RemoveAsync(withVersion, 4, Token), Is.False, "RemoveAsync(4) of an expired version 4");
        }
    }

    /// <summary>Removing one key leaves the others alone.</summary>
    [Test]
    public virtual async Task Remove_deletes_only_its_own_key()
    {
        var backend = await NewBackendAsync();
        var prefix = NewKeyPrefix();
        var neighbour = NewRecord(LongTtl, version: 2);
        await backend.SetAsync(prefix + "a", NewRecord(LongTtl, version: 1), SetCondition.Always, Token);
        await backend.SetAsync(prefix + "ab", neighbour, SetCondition.Always, Token);

        await backend.RemoveAsync(prefix + "a", null, Token);

        AssertRecord(await backend.GetAsync(prefix + "ab", Token), neighbour, "a key sharing the removed key as a prefix");
    }
}
