using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Conditional writes: IfAbsent and IfVersion, each against an empty key, a live record and an expired one.
public abstract partial class SessionBackendConformanceTests
{
    /// <summary><see cref="SetCondition.IfAbsent"/> writes when nothing is stored under the key.</summary>
    [Test]
    public virtual async Task Set_if_absent_succeeds_when_nothing_is_stored()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(LongTtl);

        Assert.That(await backend.SetAsync(key, record, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) on an empty key must write.");

        AssertRecord(await backend.GetAsync(key, Token), record, "GetAsync after SetAsync(IfAbsent)");
    }

    /// <summary><see cref="SetCondition.IfAbsent"/> refuses to write over a live record, which stays as it was.</summary>
    [Test]
    public virtual async Task Set_if_absent_fails_when_a_live_record_exists()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var existing = NewRecord(LongTtl, version: 1, label: "existing");
        await backend.SetAsync(key, existing, SetCondition.Always, Token);

        var written = await backend.SetAsync(key, NewRecord(LongTtl, version: 2, label: "intruder"), SetCondition.IfAbsent, Token);

        Assert.That(written, Is.False, "SetAsync(IfAbsent) over a live record must return false.");
        AssertRecord(await backend.GetAsync(key, Token), existing, "the live record after a refused SetAsync(IfAbsent)");
    }

    /// <summary>An expired record counts as absent: <see cref="SetCondition.IfAbsent"/> writes over it.</summary>
    [Test]
    public virtual async Task Set_if_absent_succeeds_when_the_stored_record_has_expired()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await WriteAndLetExpireAsync(backend, key, NewRecord(ShortTtl, version: 1, label: "expired"));
        var fresh = NewRecord(LongTtl, version: 2, label: "fresh");

        Assert.That(await backend.SetAsync(key, fresh, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) over an expired record must write.");

        AssertRecord(await backend.GetAsync(key, Token), fresh, "GetAsync after SetAsync(IfAbsent) over an expired record");
    }

    /// <summary>A record written with an expiry already in the past counts as absent for <see cref="SetCondition.IfAbsent"/>.</summary>
    [Test]
    public virtual async Task Set_if_absent_succeeds_over_a_record_written_already_expired()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(TimeSpan.FromMinutes(-1)), SetCondition.Always, Token);
        var fresh = NewRecord(LongTtl, version: 2);

        Assert.That(await backend.SetAsync(key, fresh, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) over an already-expired record must write.");

        AssertRecord(await backend.GetAsync(key, Token), fresh, "GetAsync after SetAsync(IfAbsent)");
    }

    /// <summary>A removed key is absent again: <see cref="SetCondition.IfAbsent"/> writes (no tombstone blocks it).</summary>
    [Test]
    public virtual async Task Set_if_absent_succeeds_after_the_record_was_removed()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(LongTtl, version: 1), SetCondition.Always, Token);
        await backend.RemoveAsync(key, null, Token);
        var again = NewRecord(LongTtl, version: 2);

        Assert.That(await backend.SetAsync(key, again, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) after RemoveAsync must write.");

        AssertRecord(await backend.GetAsync(key, Token), again, "GetAsync after re-creating a removed key");
    }

    /// <summary><see cref="SetCondition.IfVersion(long)"/> writes when the live record has that version; the new record replaces it whole.</summary>
    [Test]
    public virtual async Task Set_if_version_succeeds_when_the_version_matches()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(LongTtl, version: 5, label: "v5"), SetCondition.Always, Token);
        var next = new SessionRecord(Payloads.Text("v6"), Now + (2 * LongTtl), 6);

        Assert.That(await backend.SetAsync(key, next, SetCondition.IfVersion(5), Token), Is.True, "SetAsync(IfVersion(5)) over version 5 must write.");

        AssertRecord(await backend.GetAsync(key, Token), next, "GetAsync after SetAsync(IfVersion)");
    }

    /// <summary><see cref="SetCondition.IfVersion(long)"/> refuses to write when the live record has another version, which stays as it was.</summary>
    [Test]
    public virtual async Task Set_if_version_fails_when_the_version_differs()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var existing = NewRecord(LongTtl, version: 5, label: "v5");
        await backend.SetAsync(key, existing, SetCondition.Always, Token);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.SetAsync(key, NewRecord(LongTtl, version: 7), SetCondition.IfVersion(4), Token), Is.False, "SetAsync(IfVersion(4)) over version 5");
            Assert.That(await backend.SetAsync(key, NewRecord(LongTtl, version: 7), SetCondition.IfVersion(6), Token), Is.False, "SetAsync(IfVersion(6)) over version 5");
            Assert.That(await backend.SetAsync(key, NewRecord(LongTtl, version: 7), SetCondition.IfVersion(0), Token), Is.False, "SetAsync(IfVersion(0)) over version 5");
        }

        AssertRecord(await backend.GetAsync(key, Token), existing, "the live record after refused conditional writes");
    }

    /// <summary><see cref="SetCondition.IfVersion(long)"/> refuses to write when nothing is stored, and creates nothing.</summary>
    [Test]
    public virtual async Task Set_if_version_fails_when_nothing_is_stored()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();

        Assert.That(await backend.SetAsync(key, NewRecord(LongTtl, version: 1), SetCondition.IfVersion(0), Token), Is.False, "SetAsync(IfVersion(0)) on an empty key must return false.");

        Assert.That(await backend.GetAsync(key, Token), Is.Null, "a refused SetAsync(IfVersion) must not create a record.");
    }

    /// <summary>
    /// <see cref="SetCondition.IfVersion(long)"/> refuses to write over an expired record even when the version matches,
    /// and does not revive it: a session that expired during a long request stays expired.
    /// </summary>
    [Test]
    public virtual async Task Set_if_version_fails_when_the_record_has_expired()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await WriteAndLetExpireAsync(backend, key, NewRecord(ShortTtl, version: 9));

        Assert.That(await backend.SetAsync(key, NewRecord(LongTtl, version: 10), SetCondition.IfVersion(9), Token), Is.False, "SetAsync(IfVersion(9)) over an expired version 9 must return false.");

        Assert.That(await backend.GetAsync(key, Token), Is.Null, "a refused SetAsync(IfVersion) must not revive an expired record.");
    }

    /// <summary>A touch keeps the version, so a conditional write that read the record before the touch still succeeds.</summary>
    [Test]
    public virtual async Task Set_if_version_still_matches_after_a_touch()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(LongTtl, version: 12), SetCondition.Always, Token);
        Assert.That(await backend.TouchAsync(key, Now + (2 * LongTtl), Token), Is.True, "TouchAsync on a live record");
        var next = NewRecord(LongTtl, version: 13);

        Assert.That(await backend.SetAsync(key, next, SetCondition.IfVersion(12), Token), Is.True, "SetAsync(IfVersion(12)) after a touch must still match version 12.");

        AssertRecord(await backend.GetAsync(key, Token), next, "GetAsync after the conditional write");
    }
}
