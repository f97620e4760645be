using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using Sessions.Envelope;

namespace Sessions.Core.Tests.Envelope;

public sealed class EnvelopeCodecTests
{
    private const int NoLimit = int.MaxValue;

    /// <summary>Random bytes, a third of them starting with each format byte so that both decoders are reached.</summary>
    private static readonly Arbitrary<byte[]> s_randomPayloads = Gen.Frequency(
            (1, Gen.ArrayOf(EnvelopeSamples.Bytes)),
            (1, Gen.ArrayOf(EnvelopeSamples.Bytes).Select(b => (byte[])[BinaryEnvelopeFormat.FormatByte, .. b])),
            (1, Gen.ArrayOf(EnvelopeSamples.Bytes).Select(b => (byte[])[(byte)'{', .. b])))
        .ToArbitrary();

    [TestCase(SessionFormat.Binary, BinaryEnvelopeFormat.FormatByte)]
    [TestCase(SessionFormat.Json, (byte)'{')]
    public void Encode_writes_the_format_byte_of_the_chosen_format(SessionFormat format, byte formatByte)
    {
        var payload = EnvelopeCodec.Encode(EnvelopeSamples.Typical(), format, NoLimit);

        Assert.That(payload[0], Is.EqualTo(formatByte));
    }

    [TestCase(SessionFormat.Binary)]
    [TestCase(SessionFormat.Json)]
    public void TryDecode_detects_the_format_from_the_first_byte(SessionFormat format)
    {
        var envelope = EnvelopeSamples.Typical();
        var payload = EnvelopeCodec.Encode(envelope, format, NoLimit);

        Assert.That(EnvelopeCodec.TryDecode(payload, out var decoded), Is.True);
        Assert.That(EnvelopeSamples.SameEnvelope(envelope, decoded!), Is.True);
    }

    [FsCheck.NUnit.Property(MaxTest = 200, QuietOnSuccess = true)]
    public Property TryDecode_reads_either_format_whatever_the_configured_one() =>
        Prop.ForAll(EnvelopeSamples.AnyEnvelope, sample =>
            EnvelopeCodec.TryDecode(EnvelopeCodec.Encode(sample.Envelope, SessionFormat.Binary, NoLimit), out var fromBinary)
            && EnvelopeCodec.TryDecode(EnvelopeCodec.Encode(sample.Envelope, SessionFormat.Json, NoLimit), out var fromJson)
            && EnvelopeSamples.SameEnvelope(sample.Envelope, fromBinary)
            && EnvelopeSamples.SameEnvelope(sample.Envelope, fromJson));

    [Test]
    public void TryDecode_rejects_an_empty_payload()
    {
        Assert.That(EnvelopeCodec.TryDecode([], out var envelope), Is.False);
        Assert.That(envelope, Is.Null);
    }

    [TestCase((byte)0x00)]
    [TestCase((byte)0x02)]
    [TestCase((byte)0x7F)]
    [TestCase((byte)0xFF)]
    [TestCase((byte)'[')]
    [TestCase((byte)' ')]
    [TestCase((byte)'"')]
    public void TryDecode_rejects_an_unknown_format_byte(byte formatByte)
    {
        // A valid binary body behind the unknown byte: only the format byte makes it unreadable.
        var payload = EnvelopeCodec.Encode(EnvelopeSamples.Typical(), SessionFormat.Binary, NoLimit);
        payload[0] = formatByte;

        Assert.That(EnvelopeCodec.TryDecode(payload, out _), Is.False);
    }

    [Test]
    public void TryDecode_rejects_json_with_leading_whitespace()
    {
        byte[] payload = [(byte)' ', .. EnvelopeCodec.Encode(EnvelopeSamples.Typical(), SessionFormat.Json, NoLimit)];

        Assert.That(EnvelopeCodec.TryDecode(payload, out _), Is.False);
    }

    [TestCase(SessionFormat.Binary)]
    [TestCase(SessionFormat.Json)]
    public void TryDecode_rejects_every_truncation_of_a_valid_payload(SessionFormat format)
    {
        var payload = EnvelopeCodec.Encode(EnvelopeSamples.Typical(), format, NoLimit);

        var accepted = Enumerable.Range(0, payload.Length).Where(length => EnvelopeCodec.TryDecode(payload.AsSpan(0, length), out _)).ToList();

        Assert.That(accepted, Is.Empty, "prefix lengths that decoded");
        Assert.That(EnvelopeCodec.TryDecode(payload, out _), Is.True);
    }

    [FsCheck.NUnit.Property(MaxTest = 100, QuietOnSuccess = true)]
    public Property TryDecode_rejects_every_truncation_of_any_binary_payload() =>
        Prop.ForAll(EnvelopeSamples.SmallEnvelope, sample => NoPrefixDecodes(EnvelopeCodec.Encode(sample.Envelope, SessionFormat.Binary, NoLimit)));

    [FsCheck.NUnit.Property(MaxTest = 100, QuietOnSuccess = true)]
    public Property TryDecode_rejects_every_truncation_of_any_json_payload() =>
        Prop.ForAll(EnvelopeSamples.SmallEnvelope, sample => NoPrefixDecodes(EnvelopeCodec.Encode(sample.Envelope, SessionFormat.Json, NoLimit)));

    [FsCheck.NUnit.Property(MaxTest = 500, QuietOnSuccess = true)]
    public Property TryDecode_never_throws_and_rejects_random_bytes() =>
        Prop.ForAll(s_randomPayloads, payload => !EnvelopeCodec.TryDecode(payload, out var envelope) && envelope is null);

    [FsCheck.NUnit.Property(MaxTest = 500, QuietOnSuccess = true)]
    public Property TryDecode_never_throws_on_a_binary_payload_with_a_flipped_bit() =>
        Prop.ForAll(EnvelopeSamples.AnyEnvelope, ArbMap.Default.ArbFor<uint>(), (sample, seed) =>
        {
            var payload = EnvelopeCodec.Encode(sample.Envelope, SessionFormat.Binary, NoLimit);
            var bit = (int)(seed % (uint)(payload.Length * 8));
            payload[bit / 8] ^= (byte)(1 << (bit % 8));

            // Either rejected, or read as some envelope; and then, the format being canonical, as exactly these bytes.
            return !EnvelopeCodec.TryDecode(payload, out var decoded)
                || BinaryEnvelopeFormat.Encode(decoded).AsSpan().SequenceEqual(payload);
        });

    [FsCheck.NUnit.Property(MaxTest = 500, QuietOnSuccess = true)]
    public Property TryDecode_never_throws_on_a_json_payload_with_a_flipped_bit() =>
        Prop.ForAll(EnvelopeSamples.AnyEnvelope, ArbMap.Default.ArbFor<uint>(), (sample, seed) =>
        {
            var payload = EnvelopeCodec.Encode(sample.Envelope, SessionFormat.Json, NoLimit);
            var bit = (int)(seed % (uint)(payload.Length * 8));
            payload[bit / 8] ^= (byte)(1 << (bit % 8));

            // Either rejected, or read as an envelope that the binary format can store and read back unchanged
            // (a deadline at the Unix epoch aside: binary writes "none" as 0).
            return !EnvelopeCodec.TryDecode(payload, out var decoded)
                || decoded.AbsoluteDeadline == DateTimeOffset.UnixEpoch
                || (BinaryEnvelopeFormat.TryDecode(BinaryEnvelopeFormat.Encode(decoded), out var again) && EnvelopeSamples.SameEnvelope(decoded, again));
        });

    [Test]
    public void TryDecode_rejects_a_payload_whose_first_byte_was_flipped_to_a_control_character()
    {
        var payload = EnvelopeCodec.Encode(EnvelopeSamples.Typical(), SessionFormat.Json, NoLimit);
        payload[0] ^= 0x40; // '{' becomes ';'

        Assert.That(EnvelopeCodec.TryDecode(payload, out _), Is.False);
    }

    [TestCase(SessionFormat.Binary)]
    [TestCase(SessionFormat.Json)]
    public void Encode_succeeds_at_exactly_the_limit(SessionFormat format)
    {
        var size = EnvelopeCodec.Encode(EnvelopeSamples.Typical(), format, NoLimit).Length;

        var payload = EnvelopeCodec.Encode(EnvelopeSamples.Typical(), format, size);

        Assert.That(payload, Has.Length.EqualTo(size));
    }

    [TestCase(SessionFormat.Binary)]
    [TestCase(SessionFormat.Json)]
    public void Encode_over_the_limit_throws_naming_the_sizes_and_the_setting(SessionFormat format)
    {
        var size = EnvelopeCodec.Encode(EnvelopeSamples.Typical(), format, NoLimit).Length;

        var ex = Assert.Throws<SessionPayloadTooLargeException>(() => EnvelopeCodec.Encode(EnvelopeSamples.Typical(), format, size - 1));

        Assert.That(ex.PayloadBytes, Is.EqualTo(size));
        Assert.That(ex.MaxPayloadBytes, Is.EqualTo(size - 1));
        Assert.That(ex.Message, Does.Contain("Sessions:MaxPayloadBytes"));
        Assert.That(ex.Message, Does.Contain(size.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void Payload_too_large_is_a_session_exception()
    {
        Assert.That(() => EnvelopeCodec.Encode(EnvelopeSamples.Typical(), SessionFormat.Binary, 1), Throws.InstanceOf<SessionException>());
    }

    private static bool NoPrefixDecodes(byte[] payload)
    {
        for (var length = 0; length < payload.Length; length++)
        {
            if (EnvelopeCodec.TryDecode(payload.AsSpan(0, length), out _))
            {
                return false;
            }
        }

        return EnvelopeCodec.TryDecode(payload, out _);
    }
}
