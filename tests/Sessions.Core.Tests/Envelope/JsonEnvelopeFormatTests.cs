using System.Text;
using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using Sessions.Envelope;

namespace Sessions.Core.Tests.Envelope;

public sealed class JsonEnvelopeFormatTests
{
    /// <summary>The example in <see cref="JsonEnvelopeFormat"/>'s documentation.</summary>
    private const string DocumentedExample =
        """{"v":1,"created":1700000000000,"deadline":null,"persistent":false,"user":"alice","data":{"name":"text","n":{"b64":"AAAAKg=="}}}""";

    [FsCheck.NUnit.Property(MaxTest = 300, QuietOnSuccess = true)]
    public Property Json_envelope_round_trips_any_envelope() =>
        Prop.ForAll(EnvelopeSamples.AnyEnvelope, sample =>
        {
            var payload = JsonEnvelopeFormat.Encode(sample.Envelope);
            return payload[0] == (byte)'{'
                && JsonEnvelopeFormat.TryDecode(payload, out var decoded)
                && EnvelopeSamples.SameEnvelope(sample.Envelope, decoded);
        });

    [Test]
    public void Json_envelope_round_trips_a_deadline_at_the_unix_epoch()
    {
        // Unlike the binary layout, JSON writes "no deadline" as null, so 0 is an ordinary instant.
        var envelope = new SessionEnvelope(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, false, []);

        Assert.That(JsonEnvelopeFormat.TryDecode(JsonEnvelopeFormat.Encode(envelope), out var decoded), Is.True);
        Assert.That(decoded!.AbsoluteDeadline, Is.EqualTo(DateTimeOffset.UnixEpoch));
    }

    [Test]
    public void Json_stores_plain_text_values_as_readable_strings()
    {
        var json = Encode(new() { ["name"] = "alice smith"u8.ToArray(), ["lines"] = "a\tb"u8.ToArray() });

        Assert.That(json, Does.Contain("\"name\":\"alice smith\""));
        Assert.That(json, Does.Contain("\"lines\":\"a\\tb\""));
        Assert.That(json, Does.Not.Contain("b64"));
    }

    [Test]
    public void Json_stores_binary_values_as_base64_objects()
    {
        var json = Encode(new() { ["n"] = [0, 1, 2, 0xFF] });

        Assert.That(json, Does.Contain("\"n\":{\"b64\":\"AAEC/w==\"}"));
    }

    [TestCase(new byte[] { 0x01 }, TestName = "Json_stores_a_value_with_a_control_character_as_base64")]
    [TestCase(new byte[] { (byte)'a', 0x00 }, TestName = "Json_stores_a_value_with_a_nul_as_base64")]
    [TestCase(new byte[] { 0x7F }, TestName = "Json_stores_a_value_with_delete_as_base64")]
    [TestCase(new byte[] { 0xC3 }, TestName = "Json_stores_a_value_that_is_not_valid_utf8_as_base64")]
    public void Json_stores_non_text_values_as_base64(byte[] value)
    {
        var json = Encode(new() { ["v"] = value });

        Assert.That(json, Does.Contain($"\"v\":{{\"b64\":\"{Convert.ToBase64String(value)}\"}}"));
    }

    [Test]
    public void Json_writes_the_documented_layout()
    {
        var envelope = new SessionEnvelope(
            DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000),
            null,
            "alice",
            false,
            new Dictionary<string, byte[]>(StringComparer.Ordinal) { ["name"] = "text"u8.ToArray(), ["n"] = [0, 0, 0, 42] });

        Assert.That(Encoding.UTF8.GetString(JsonEnvelopeFormat.Encode(envelope)), Is.EqualTo(DocumentedExample));
    }

    [Test]
    public void Json_decodes_the_documented_example()
    {
        Assert.That(JsonEnvelopeFormat.TryDecode(Encoding.UTF8.GetBytes(DocumentedExample), out var decoded), Is.True);
        Assert.That(decoded!.CreatedAt, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000)));
        Assert.That(decoded.AbsoluteDeadline, Is.Null);
        Assert.That(decoded.UserId, Is.EqualTo("alice"));
        Assert.That(decoded.IsPersistent, Is.False);
        Assert.That(decoded.Entries["name"], Is.EqualTo("text"u8.ToArray()));
        Assert.That(decoded.Entries["n"], Is.EqualTo(new byte[] { 0, 0, 0, 42 }));
    }

    [Test]
    public void Json_decode_accepts_an_omitted_deadline_and_user()
    {
        Assert.That(Decode("""{"v":1,"created":5,"persistent":true,"data":{}}"""), Is.True);
    }

    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{},"extra":1}""", TestName = "Json_decode_rejects_an_unknown_property")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":{"b64":"AA==","x":1}}}""", TestName = "Json_decode_rejects_an_unknown_property_in_a_base64_value")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":{"hex":"00"}}}""", TestName = "Json_decode_rejects_a_value_object_other_than_b64")]
    [TestCase("""{"v":2,"created":5,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_version_2")]
    [TestCase("""{"v":0,"created":5,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_version_0")]
    [TestCase("""{"v":"1","created":5,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_a_version_written_as_a_string")]
    [TestCase("""{"v":1.5,"created":5,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_a_fractional_version")]
    [TestCase("""{"created":5,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_a_missing_version")]
    [TestCase("""{"v":1,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_a_missing_created")]
    [TestCase("""{"v":1,"created":5,"data":{}}""", TestName = "Json_decode_rejects_a_missing_persistent")]
    [TestCase("""{"v":1,"created":5,"persistent":true}""", TestName = "Json_decode_rejects_missing_data")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":null}""", TestName = "Json_decode_rejects_null_data")]
    [TestCase("""{"v":1,"created":"5","persistent":true,"data":{}}""", TestName = "Json_decode_rejects_created_written_as_a_string")]
    [TestCase("""{"v":1,"created":5.5,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_a_fractional_created")]
    [TestCase("""{"v":1,"created":253402300800000,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_created_after_year_9999")]
    [TestCase("""{"v":1,"created":-62135596800001,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_created_before_year_1")]
    [TestCase("""{"v":1,"created":5,"deadline":253402300800000,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_a_deadline_after_year_9999")]
    [TestCase("""{"v":1,"created":5,"persistent":"true","data":{}}""", TestName = "Json_decode_rejects_persistent_written_as_a_string")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"user":42,"data":{}}""", TestName = "Json_decode_rejects_a_numeric_user")]
    [TestCase("""{"v":1,"v":1,"created":5,"persistent":true,"data":{}}""", TestName = "Json_decode_rejects_a_duplicate_property")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":"a","k":"b"}}""", TestName = "Json_decode_rejects_a_duplicate_key")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":"a","k":{"b64":"AA=="}}}""", TestName = "Json_decode_rejects_a_duplicate_key_in_different_forms")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":7}}""", TestName = "Json_decode_rejects_a_numeric_value")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":["a"]}}""", TestName = "Json_decode_rejects_an_array_value")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":{"b64":"not base64!"}}}""", TestName = "Json_decode_rejects_bad_base64")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":"\u0001"}}""", TestName = "Json_decode_rejects_a_string_value_with_a_control_character")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":"\ud800"}}""", TestName = "Json_decode_rejects_a_value_with_a_lone_surrogate")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"\udc00":"a"}}""", TestName = "Json_decode_rejects_a_key_with_a_lone_surrogate")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"user":"\ud800","data":{}}""", TestName = "Json_decode_rejects_a_user_with_a_lone_surrogate")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{"k":{"b64":{"b64":"AA=="}}}}""", TestName = "Json_decode_rejects_nesting_deeper_than_the_format")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{}}x""", TestName = "Json_decode_rejects_trailing_garbage")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{}}{}""", TestName = "Json_decode_rejects_a_second_json_value")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{}/* note */}""", TestName = "Json_decode_rejects_comments")]
    [TestCase("""{"v":1,"created":5,"persistent":true,"data":{},}""", TestName = "Json_decode_rejects_a_trailing_comma")]
    [TestCase("""{}""", TestName = "Json_decode_rejects_an_empty_object")]
    [TestCase("""{""", TestName = "Json_decode_rejects_an_unclosed_object")]
    public void Json_decode_rejects_malformed_envelopes(string json)
    {
        Assert.That(Decode(json), Is.False);
    }

    [Test]
    public void Json_decode_rejects_a_string_that_is_not_valid_utf8()
    {
        var payload = Encoding.UTF8.GetBytes("""{"v":1,"created":5,"persistent":true,"data":{"k":"ab"}}""");
        var a = Array.IndexOf(payload, (byte)'a', payload.Length - 8);
        payload[a] = 0xFF;

        Assert.That(JsonEnvelopeFormat.TryDecode(payload, out _), Is.False);
    }

    private static string Encode(Dictionary<string, byte[]> entries) =>
        Encoding.UTF8.GetString(JsonEnvelopeFormat.Encode(
            new SessionEnvelope(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), null, null, false, entries)));

    private static bool Decode(string json) => JsonEnvelopeFormat.TryDecode(Encoding.UTF8.GetBytes(json), out _);
}
