using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Core.Tests.Backends;

/// <summary>The one version + expiry + payload layout of the key-value backends (Redis, memcached, files).</summary>
[TestFixture]
public sealed class SessionRecordHeaderTests
{
    [Test]
    public void The_layout_is_the_documented_17_bytes_big_endian_then_the_payload()
    {
        var destination = new byte[SessionRecordHeader.Length + 3];

        var written = SessionRecordHeader.Write(destination, version: 0x0102030405060708, expiresAtUnixMs: 0x1112131415161718, payload: [0xA1, 0xA2, 0xA3]);

        Assert.That(written, Is.EqualTo(20));
        Assert.That(destination, Is.EqualTo(new byte[]
        {
            1,
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
            0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
            0xA1, 0xA2, 0xA3,
        }));
    }

    [TestCase(long.MinValue)]
    [TestCase(-1L)]
    [TestCase(0L)]
    [TestCase(long.MaxValue)]
    public void A_record_round_trips_with_its_payload_as_a_slice(long version)
    {
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(1_900_000_000_123);
        var bytes = new byte[SessionRecordHeader.Length + 2];
        SessionRecordHeader.Write(bytes, version, expiresAt.ToUnixTimeMilliseconds(), [7, 8]);

        Assert.That(SessionRecordHeader.TryRead(bytes.AsMemory(), out var record), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(record!.Version, Is.EqualTo(version));
            Assert.That(record.ExpiresAt, Is.EqualTo(expiresAt));
            Assert.That(record.Payload.ToArray(), Is.EqualTo(new byte[] { 7, 8 }));
            Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(record.Payload, out var segment) && segment.Array == bytes, "a slice, not a copy");
        }
    }

    [Test]
    public void The_header_alone_is_a_record_with_an_empty_payload()
    {
        var bytes = new byte[SessionRecordHeader.Length];
        SessionRecordHeader.Write(bytes, 5, 1000, default);

        Assert.That(SessionRecordHeader.TryRead(bytes.AsMemory(), out var record), Is.True);
        Assert.That(record!.Payload.Length, Is.Zero);
    }

    [Test]
    public void Bytes_that_are_not_a_record_are_refused()
    {
        var valid = new byte[SessionRecordHeader.Length];
        SessionRecordHeader.Write(valid, 1, 1000, default);
        var otherTag = (byte[])valid.Clone();
        otherTag[0] = 0x53;
        var expiryBeyondYear9999 = (byte[])valid.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(expiryBeyondYear9999.AsSpan(9), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds() + 1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(SessionRecordHeader.TryRead(ReadOnlySpan<byte>.Empty, out _, out _), Is.False, "empty");
            Assert.That(SessionRecordHeader.TryRead(valid.AsSpan(0, 16), out _, out _), Is.False, "one byte short");
            Assert.That(SessionRecordHeader.TryRead(otherTag, out _, out _), Is.False, "another tag");
            Assert.That(SessionRecordHeader.TryRead(expiryBeyondYear9999.AsMemory(), out var record), Is.False, "an expiry DateTimeOffset cannot hold");
            Assert.That(record, Is.Null);
        }
    }

    [Test]
    public void A_destination_too_short_for_the_record_is_refused()
    {
        Assert.That(() => SessionRecordHeader.Write(new byte[SessionRecordHeader.Length + 1], 1, 1, [1, 2]), Throws.ArgumentException);
    }
}
