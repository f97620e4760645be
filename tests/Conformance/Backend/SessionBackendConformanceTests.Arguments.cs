using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Argument checks and cancellation: a bad call fails loudly and an already-cancelled call changes nothing.
public abstract partial class SessionBackendConformanceTests
{
    /// <summary>Keys the core never produces, each rejected with <see cref="ArgumentException"/> (see <see cref="SessionKeys.IsValid"/>).</summary>
    private static IEnumerable<TestCaseData> InvalidKeys()
    {
        yield return new TestCaseData((string?)null).SetArgDisplayNames("null");
        yield return new TestCaseData(string.Empty).SetArgDisplayNames("empty");
        yield return new TestCaseData(new string('k', SessionKeys.MaxKeyLength + 1)).SetArgDisplayNames("251 characters");
        yield return new TestCaseData("kit:with space").SetArgDisplayNames("contains a space");
        yield return new TestCaseData("kit:with\ttab").SetArgDisplayNames("contains a tab");
        yield return new TestCaseData("kit:with\nnewline").SetArgDisplayNames("contains a newline");
        yield return new TestCaseData("kit:non-ascii-é").SetArgDisplayNames("contains non-ASCII");
    }

    /// <summary><see cref="ISessionBackend.GetAsync"/> rejects an invalid key with <see cref="ArgumentException"/>.</summary>
    /// <param name="key">An invalid key.</param>
    [TestCaseSource(nameof(InvalidKeys))]
    public virtual async Task Get_rejects_an_invalid_key(string? key)
    {
        var backend = await NewBackendAsync();

        await Assert.ThatAsync(async () => await backend.GetAsync(key!, Token), Throws.InstanceOf<ArgumentException>());
    }

    /// <summary><see cref="ISessionBackend.SetAsync"/> rejects an invalid key with <see cref="ArgumentException"/>.</summary>
    /// <param name="key">An invalid key.</param>
    [TestCaseSource(nameof(InvalidKeys))]
    public virtual async Task Set_rejects_an_invalid_key(string? key)
    {
        var backend = await NewBackendAsync();

        await Assert.ThatAsync(async () => await backend.SetAsync(key!, NewRecord(LongTtl), SetCondition.Always, Token), Throws.InstanceOf<ArgumentException>());
    }

    /// <summary><see cref="ISessionBackend.RemoveAsync"/> rejects an invalid key with <see cref="ArgumentException"/>.</summary>
    /// <param name="key">An invalid key.</param>
    [TestCaseSource(nameof(InvalidKeys))]
    public virtual async Task Remove_rejects_an_invalid_key(string? key)
    {
        var backend = await NewBackendAsync();

        await Assert.ThatAsync(async () => await backend.RemoveAsync(key!, null, Token), Throws.InstanceOf<ArgumentException>());
    }

    /// <summary><see cref="ISessionBackend.TouchAsync"/> rejects an invalid key with <see cref="ArgumentException"/>.</summary>
    /// <param name="key">An invalid key.</param>
    [TestCaseSource(nameof(InvalidKeys))]
    public virtual async Task Touch_rejects_an_invalid_key(string? key)
    {
        var backend = await NewBackendAsync();

        await Assert.ThatAsync(async () => await backend.TouchAsync(key!, Now + LongTtl, Token), Throws.InstanceOf<ArgumentException>());
    }

    /// <summary><see cref="ISessionBackend.SetAsync"/> rejects a null record with <see cref="ArgumentNullException"/> and writes nothing.</summary>
    [Test]
    public virtual async Task Set_rejects_a_null_record()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();

        await Assert.ThatAsync(async () => await backend.SetAsync(key, null!, SetCondition.Always, Token), Throws.ArgumentNullException);

        Assert.That(await backend.GetAsync(key, Token), Is.Null, "the key after the rejected write");
    }

    /// <summary><see cref="ISessionBackend.GetAsync"/> with an already-cancelled token throws <see cref="OperationCanceledException"/>.</summary>
    [Test]
    public virtual async Task Get_with_a_cancelled_token_throws()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(LongTtl), SetCondition.Always, Token);

        await Assert.ThatAsync(async () => await backend.GetAsync(key, Cancelled), Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary><see cref="ISessionBackend.SetAsync"/> with an already-cancelled token throws <see cref="OperationCanceledException"/> and writes nothing.</summary>
    [Test]
    public virtual async Task Set_with_a_cancelled_token_throws_and_writes_nothing()
    {
        var backend = await NewBackendAsync();
        var fresh = NewKey("fresh");
        var existing = NewKey("existing");
        var record = NewRecord(LongTtl, version: 1);
        await backend.SetAsync(existing, record, SetCondition.Always, Token);

        using (Assert.EnterMultipleScope())
        {
            await Assert.ThatAsync(async () => await backend.SetAsync(fresh, NewRecord(LongTtl), SetCondition.Always, Cancelled), Throws.InstanceOf<OperationCanceledException>(), "SetAsync(Always) of a fresh key");
            await Assert.ThatAsync(async () => await backend.SetAsync(existing, NewRecord(LongTtl, version: 2), SetCondition.IfVersion(1), Cancelled), Throws.InstanceOf<OperationCanceledException>(), "SetAsync(IfVersion) of an existing key");
        }

        Assert.That(await backend.GetAsync(fresh, Token), Is.Null, "a cancelled SetAsync wrote a record.");
        AssertRecord(await backend.GetAsync(existing, Token), record, "the existing record after a cancelled SetAsync");
    }

    /// <summary><see cref="ISessionBackend.RemoveAsync"/> with an already-cancelled token throws <see cref="OperationCanceledException"/> and deletes nothing.</summary>
    [Test]
    public virtual async Task Remove_with_a_cancelled_token_throws_and_keeps_the_record()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(LongTtl, version: 1);
        await backend.SetAsync(key, record, SetCondition.Always, Token);

        await Assert.ThatAsync(async () => await backend.RemoveAsync(key, null, Cancelled), Throws.InstanceOf<OperationCanceledException>());

        AssertRecord(await backend.GetAsync(key, Token), record, "the record after a cancelled RemoveAsync");
    }

    /// <summary><see cref="ISessionBackend.TouchAsync"/> with an already-cancelled token throws <see cref="OperationCanceledException"/> and leaves the expiry alone.</summary>
    [Test]
    public virtual async Task Touch_with_a_cancelled_token_throws_and_keeps_the_expiry()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = NewRecord(LongTtl, version: 1);
        await backend.SetAsync(key, record, SetCondition.Always, Token);

        await Assert.ThatAsync(async () => await backend.TouchAsync(key, Now + ShortTtl, Cancelled), Throws.InstanceOf<OperationCanceledException>());

        AssertRecord(await backend.GetAsync(key, Token), record, "the record after a cancelled TouchAsync");
    }

    private static CancellationToken Cancelled => new(canceled: true);
}
