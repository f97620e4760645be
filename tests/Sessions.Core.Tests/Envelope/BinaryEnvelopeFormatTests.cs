using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using Sessions.Envelope;

namespace Sessions.Core.Tests.Envelope;

public sealed class BinaryEnvelopeFormatTests
{
    private const long Created = 1_700_000_000_000;

    [FsCheck.NUnit.Property(MaxTest = 300, QuietOnSuccess = true)]
    public Property Binary_envelope_round_trips_any_envelope() =>
        Prop.ForAll(EnvelopeSamples.AnyEnvelope, sample =>
        {
            var payload = BinaryEnvelopeFormat.Encode(sample.Envelope);
            return payload[0] == BinaryEnvelopeFormat.FormatByte
                && BinaryEnvelopeFormat.TryDecode(payload, out var decoded)
                && EnvelopeSamples.SameEnvelope(sample.Envelope, decoded);
        });

    [FsCheck.NUnit.Property(MaxTest = 200, QuietOnSuccess = true)]
    public Property Binary_encoding_is_canonical_so_re_encoding_a_decoded_payload_gives_the_same_bytes() =>
        Prop.ForAll(EnvelopeSamples.AnyEnvelope, sample =>
        {
            var payload = BinaryEnvelopeFormat.Encode(sample.Envelope);
            return BinaryEnvelopeFormat.TryDecode(payload, out var decoded)
                && BinaryEnvelopeFormat.Encode(decoded).AsSpan().SequenceEqual(payload);
        });

    [Test]
    public void Binary_layout_is_format_byte_then_little_endian_times_then_flags_then_user_then_entries()
    {
        var envelope = new SessionEnvelope(
            DateTimeOffset.FromUnixTimeMilliseconds(0x0102030405),
            DateTimeOffset.FromUnixTimeMilliseconds(0x0A0B0C),
            "u",
            isPersistent: true,
            new Dictionary<string, byte[]>(StringComparer.Ordinal) { ["k"] = [0xAB, 0xCD] });

        byte[] expected =
        [
            0x01,
            0x05, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00,
            0x0C, 0x0B, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x03,
            0x01, (byte)'u',
            0x01,
            0x01, (byte)'k', 0x02, 0xAB, 0xCD,
        ];
        Assert.That(BinaryEnvelopeFormat.Encode(envelope), Is.EqualTo(expected));
    }

    [Test]
    public void Binary_envelope_without_deadline_or_user_round_trips_as_none()
    {
        var envelope = new SessionEnvelope(DateTimeOffset.FromUnixTimeMilliseconds(Created), null, null, false, []);

        var ok = BinaryEnvelopeFormat.TryDecode(BinaryEnvelopeFormat.Encode(envelope), out var decoded);

        Assert.That(ok, Is.True);
        Assert.That(decoded!.AbsoluteDeadline, Is.Null);
        Assert.That(decoded.UserId, Is.Null);
        Assert.That(decoded.IsPersistent, Is.False);
        Assert.That(decoded.Entries, Is.Empty);
    }

    [Test]
    public void Binary_envelope_with_an_empty_user_id_keeps_it_distinct_from_no_user()
    {
        var envelope = new SessionEnvelope(DateTimeOffset.FromUnixTimeMilliseconds(Created), null, "", false, []);

        Assert.That(BinaryEnvelopeFormat.TryDecode(BinaryEnvelopeFormat.Encode(envelope), out var decoded), Is.True);
        Assert.That(decoded!.UserId, Is.EqualTo(""));
    }

    [Test]
    public void Binary_value_of_all_256_byte_values_and_a_large_value_round_trip()
    {
        var large = new byte[200_000];
        new Random(42).NextBytes(large);
        var envelope = new SessionEnvelope(
            DateTimeOffset.FromUnixTimeMilliseconds(Created),
            null,
            null,
            false,
            new Dictionary<string, byte[]>(StringComparer.Ordinal) { ["all"] = EnvelopeSamples.AllByteValues, ["large"] = large });

        Assert.That(BinaryEnvelopeFormat.TryDecode(BinaryEnvelopeFormat.Encode(envelope), out var decoded), Is.True);
        Assert.That(EnvelopeSamples.SameEnvelope(envelope, decoded!), Is.True);
    }

    [Test]
    public void Binary_hand_written_minimal_payload_decodes()
    {
        // The control for the malformed cases below: the same bytes, well-formed, are accepted.
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), [0x00]), out var empty), Is.True);
        Assert.That(empty!.CreatedAt, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(Created)));

        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), [0x02], Entry("a", 1), Entry("b", 2)), out var two), Is.True);
        Assert.That(two!.Entries.Keys, Is.EquivalentTo(new[] { "a", "b" }));
    }

    [Test]
    public void Binary_decode_rejects_duplicate_keys()
    {
        var payload = Payload(Header(), [0x02], Entry("a", 1), Entry("a", 2));

        Assert.That(BinaryEnvelopeFormat.TryDecode(payload, out _), Is.False);
    }

    [Test]
    public void Binary_decode_rejects_trailing_bytes_after_the_last_entry()
    {
        var valid = BinaryEnvelopeFormat.Encode(EnvelopeSamples.Typical());

        Assert.That(EnvelopeCodec.TryDecode(valid, out _), Is.True);
        Assert.That(EnvelopeCodec.TryDecode(Payload(valid, [0x00]), out _), Is.False);
        Assert.That(EnvelopeCodec.TryDecode(Payload(valid, [0x01, 0x02, 0x03]), out _), Is.False);
    }

    [TestCase(new byte[] { 0x80, 0x00 }, TestName = "Binary_decode_rejects_a_zero_entry_count_written_in_two_bytes")]
    [TestCase(new byte[] { 0x80, 0x80, 0x00 }, TestName = "Binary_decode_rejects_a_zero_entry_count_written_in_three_bytes")]
    public void Binary_decode_rejects_a_non_minimal_entry_count(byte[] count)
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), count), out _), Is.False);
    }

    [Test]
    public void Binary_decode_rejects_a_non_minimal_key_length()
    {
        // Key length 1 written as 0x81 0x00 instead of 0x01.
        var payload = Payload(Header(), [0x01], [0x81, 0x00, (byte)'a'], [0x00]);

        Assert.That(BinaryEnvelopeFormat.TryDecode(payload, out _), Is.False);
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), [0x01], [0x01, (byte)'a'], [0x00]), out _), Is.True);
    }

    [Test]
    public void Binary_decode_rejects_a_non_minimal_value_length()
    {
        var payload = Payload(Header(), [0x01], [0x01, (byte)'a'], [0x81, 0x00, 0x07]);

        Assert.That(BinaryEnvelopeFormat.TryDecode(payload, out _), Is.False);
    }

    [Test]
    public void Binary_decode_accepts_a_minimal_two_byte_varint_length()
    {
        var value = new byte[200];
        var payload = Payload(Header(), [0x01], [0x01, (byte)'a'], [0xC8, 0x01], value);

        Assert.That(BinaryEnvelopeFormat.TryDecode(payload, out var decoded), Is.True);
        Assert.That(decoded!.Entries["a"], Has.Length.EqualTo(200));
    }

    [TestCase(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }, TestName = "Binary_decode_rejects_a_length_beyond_int_max")]
    [TestCase(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, TestName = "Binary_decode_rejects_a_varint_longer_than_five_bytes")]
    [TestCase(new byte[] { 0xFF }, TestName = "Binary_decode_rejects_an_unterminated_varint")]
    public void Binary_decode_rejects_a_bad_varint_as_entry_count(byte[] count)
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), count), out _), Is.False);
    }

    [TestCase((byte)0x04)]
    [TestCase((byte)0x08)]
    [TestCase((byte)0x80)]
    [TestCase((byte)0x05)]
    [TestCase((byte)0xFF)]
    public void Binary_decode_rejects_unknown_flag_bits(byte flags)
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(flags: flags), [0x00]), out _), Is.False);
    }

    [Test]
    public void Binary_decode_reads_both_known_flag_bits()
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(flags: 0x03), [0x02, (byte)'b', (byte)'o'], [0x00]), out var decoded), Is.True);
        Assert.That(decoded!.IsPersistent, Is.True);
        Assert.That(decoded.UserId, Is.EqualTo("bo"));
    }

    [Test]
    public void Binary_decode_rejects_a_user_flag_without_a_user()
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Header(flags: 0x02), out _), Is.False);
    }

    [TestCase(EnvelopeSamples.MaxUnixMs + 1, 0L)]
    [TestCase(EnvelopeSamples.MinUnixMs - 1, 0L)]
    [TestCase(long.MaxValue, 0L)]
    [TestCase(long.MinValue, 0L)]
    [TestCase(Created, EnvelopeSamples.MaxUnixMs + 1)]
    [TestCase(Created, long.MinValue)]
    public void Binary_decode_rejects_timestamps_outside_the_representable_range(long created, long deadline)
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(created, deadline), [0x00]), out _), Is.False);
    }

    [Test]
    public void Binary_decode_accepts_the_extreme_representable_timestamps()
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(EnvelopeSamples.MinUnixMs, EnvelopeSamples.MaxUnixMs), [0x00]), out var decoded), Is.True);
        Assert.That(decoded!.CreatedAt, Is.EqualTo(DateTimeOffset.MinValue));
        Assert.That(decoded.AbsoluteDeadline!.Value.UtcTicks, Is.EqualTo(DateTimeOffset.MaxValue.UtcTicks - (TimeSpan.TicksPerMillisecond - 1)));
    }

    [Test]
    public void Binary_decode_rejects_a_key_that_is_not_valid_utf8()
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), [0x01], [0x01, 0xFF], [0x00]), out _), Is.False);
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), [0x01], [0x03, 0xED, 0xA0, 0x80], [0x00]), out _), Is.False); // an encoded surrogate
    }

    [Test]
    public void Binary_decode_rejects_a_user_id_that_is_not_valid_utf8()
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(flags: 0x02), [0x02, 0xC3, 0x28], [0x00]), out _), Is.False);
    }

    [Test]
    public void Binary_decode_rejects_an_entry_count_larger_than_the_entries_present()
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), [0x02], Entry("a", 1)), out _), Is.False);
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), [0x7F]), out _), Is.False);
    }

    [Test]
    public void Binary_decode_rejects_a_value_length_past_the_end()
    {
        Assert.That(BinaryEnvelopeFormat.TryDecode(Payload(Header(), [0x01], [0x01, (byte)'a'], [0x05, 0x01, 0x02]), out _), Is.False);
    }

    private static byte[] Header(long created = Created, long deadline = 0, byte flags = 0)
    {
        var header = new byte[18];
        header[0] = BinaryEnvelopeFormat.FormatByte;
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(1), created);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(9), deadline);
        header[17] = flags;
        return header;
    }

    /// <summary>A one-byte-ASCII key with a one-byte value.</summary>
    private static byte[] Entry(string key, byte value) => [(byte)key.Length, .. key.Select(c => (byte)c), 0x01, value];

    private static byte[] Payload(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
