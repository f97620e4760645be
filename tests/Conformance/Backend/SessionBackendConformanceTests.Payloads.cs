using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Payloads are opaque bytes: stored verbatim whatever their size or content.
public abstract partial class SessionBackendConformanceTests
{
    /// <summary>A 1 MiB payload of random bytes round-trips unchanged.</summary>
    [Test]
    public virtual async Task A_one_mebibyte_payload_round_trips()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = new SessionRecord(Payloads.Random(1024 * 1024, seed: 1), Now + LongTtl, 1);

        await backend.SetAsync(key, record, SetCondition.Always, Token);

        AssertRecord(await backend.GetAsync(key, Token), record, "a 1 MiB record");
    }

    /// <summary>A payload holding every byte value (NUL, control bytes, invalid UTF-8 included) round-trips unchanged.</summary>
    [Test]
    public virtual async Task A_payload_with_every_byte_value_round_trips()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = new SessionRecord(Payloads.EveryByteValue(), Now + LongTtl, 1);

        await backend.SetAsync(key, record, SetCondition.Always, Token);

        AssertRecord(await backend.GetAsync(key, Token), record, "a record holding every byte value");
    }

    /// <summary>An empty payload is a record like any other: stored and returned, not mistaken for a missing key.</summary>
    [Test]
    public virtual async Task An_empty_payload_round_trips()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var record = new SessionRecord(ReadOnlyMemory<byte>.Empty, Now + LongTtl, 1);

        await backend.SetAsync(key, record, SetCondition.Always, Token);

        AssertRecord(await backend.GetAsync(key, Token), record, "a record with an empty payload");
        Assert.That(await backend.SetAsync(key, NewRecord(LongTtl), SetCondition.IfAbsent, Token), Is.False, "SetAsync(IfAbsent) over a live record with an empty payload");
    }

    /// <summary>A payload that is a slice of a larger buffer is stored as exactly that slice.</summary>
    [Test]
    public virtual async Task A_payload_slice_is_stored_as_exactly_that_slice()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var buffer = Payloads.Random(4096, seed: 2);
        var record = new SessionRecord(buffer.AsMemory(1000, 1500), Now + LongTtl, 1);

        await backend.SetAsync(key, record, SetCondition.Always, Token);

        AssertRecord(await backend.GetAsync(key, Token), record, "a record whose payload is a slice of a larger buffer");
    }

    /// <summary>
    /// The backend keeps its own copy of the payload: once <see cref="ISessionBackend.SetAsync"/> completes, the caller
    /// may reuse its buffer (a pooled array, say) without changing what is stored.
    /// </summary>
    [Test]
    public virtual async Task Reusing_the_callers_buffer_after_set_does_not_change_the_stored_payload()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        var buffer = Payloads.Filled(256, 0xAB);
        var written = buffer.ToArray();
        var record = new SessionRecord(buffer, Now + LongTtl, 1);
        await backend.SetAsync(key, record, SetCondition.Always, Token);

        buffer.AsSpan().Fill(0xCD);

        AssertRecord(await backend.GetAsync(key, Token), record with { Payload = written }, "the stored record after the caller reused its buffer");
    }
}
