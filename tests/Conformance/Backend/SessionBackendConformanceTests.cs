using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

/// <summary>
/// The <see cref="ISessionBackend"/> contract: round trip, conditional writes, delete, expiry and touch with real
/// time-to-live values, conditional writes under real concurrency, large and binary payloads, keys, versions,
/// argument checks, cancellation and disposal. Subclass it in a backend's test project and implement
/// <see cref="BackendConformanceFixture.CreateBackendAsync()"/>.
/// </summary>
/// <remarks>
/// Every test is virtual: a backend that cannot support one overrides it and calls <see cref="Assert.Ignore(string)"/>
/// with the reason. Each test uses fresh random keys, so the tests may share one store.
/// </remarks>
[ConformanceFixture]
public abstract partial class SessionBackendConformanceTests : BackendConformanceFixture
{
    /// <summary>A record that was set is read back with the same payload, version and (within the resolution) expiry.</summary>
    [Test]
    public virtual async Task Get_returns_the_record_that_was_set()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = new SessionRecord(Payloads.Text("round trip"), Now + LongTtl, 42);

        Assert.That(await backend.SetAsync(key, record, SetCondition.Always, Token), Is.True, "SetAsync(Always) must report the write.");

        AssertRecord(await backend.GetAsync(key, Token), record, "GetAsync after SetAsync");
    }

    /// <summary>A key that was never written reads as <see langword="null"/>.</summary>
    [Test]
    public virtual async Task Get_of_a_missing_key_returns_null()
    {
        var backend = await NewBackendAsync();

        Assert.That(await backend.GetAsync(NewKey(), Token), Is.Null);
    }

    /// <summary>Reading twice returns the same record: a read neither consumes nor changes it.</summary>
    [Test]
    public virtual async Task Get_does_not_change_the_record()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(LongTtl, version: 3);
        await backend.SetAsync(key, record, SetCondition.Always, Token);

        await backend.GetAsync(key, Token);

        AssertRecord(await backend.GetAsync(key, Token), record, "second GetAsync");
    }

    /// <summary><see cref="SetCondition.Always"/> replaces a live record's payload, version and expiry.</summary>
    [Test]
    public virtual async Task Set_always_overwrites_a_live_record()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(LongTtl, version: 1, label: "first"), SetCondition.Always, Token);
        var second = new SessionRecord(Payloads.Text("second, and longer than the first"), Now + (2 * LongTtl), 2);

        Assert.That(await backend.SetAsync(key, second, SetCondition.Always, Token), Is.True, "SetAsync(Always) over a live record must report the write.");

        AssertRecord(await backend.GetAsync(key, Token), second, "GetAsync after the overwrite");
    }

    /// <summary>Versions are stored exactly as given, including values a double cannot represent, and match in <see cref="SetCondition.IfVersion(long)"/>.</summary>
    /// <param name="version">The version to store.</param>
    [TestCase(0L)]
    [TestCase(1L)]
    [TestCase(9_007_199_254_740_993L)] // 2^53 + 1: the first integer a double (JSON number, JavaScript) rounds.
    [TestCase(long.MaxValue - 1)]
    [TestCase(long.MaxValue)]
    public virtual async Task Versions_are_stored_exactly(long version)
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(LongTtl, version);
        await backend.SetAsync(key, record, SetCondition.Always, Token);

        AssertRecord(await backend.GetAsync(key, Token), record, $"record with version {version}");
        var next = NewRecord(LongTtl, version: 7);
        Assert.That(await backend.SetAsync(key, next, SetCondition.IfVersion(version), Token), Is.True, $"SetAsync(IfVersion({version})) must match the stored version {version}.");
        AssertRecord(await backend.GetAsync(key, Token), next, "record after the conditional write");
    }
}
