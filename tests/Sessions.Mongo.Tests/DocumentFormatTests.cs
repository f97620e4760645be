using MongoDB.Bson;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Mongo.Tests;

/// <summary>The stored document: field names and BSON types, and what a document that is not a session record reads as.</summary>
[TestFixture]
public sealed class DocumentFormatTests
{
    private static readonly DateTimeOffset s_expiry = new(2026, 11, 29, 12, 0, 0, 999, TimeSpan.FromHours(2));

    [Test]
    public void A_record_is_stored_as_id_payload_version_and_expiresAt()
    {
        var document = MongoSessionDocument.Encode("k:1", new SessionRecord(new byte[] { 0, 255 }, s_expiry, 9_007_199_254_740_993));

        Assert.That(document, Is.EqualTo(new BsonDocument
        {
            { "_id", "k:1" },
            { "payload", new BsonBinaryData(new byte[] { 0, 255 }, BsonBinarySubType.Binary) },
            { "version", new BsonInt64(9_007_199_254_740_993) },
            { "expiresAt", new BsonDateTime(s_expiry.ToUnixTimeMilliseconds()) },
        }));
    }

    [Test]
    public void A_stored_record_reads_back_exactly_with_its_expiry_to_the_millisecond()
    {
        var record = new SessionRecord(new byte[] { 1, 2, 3 }, s_expiry.AddTicks(4567), long.MinValue);

        var read = MongoSessionDocument.Decode("k", MongoSessionDocument.Encode("k", record));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(read.Payload.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
            Assert.That(read.Version, Is.EqualTo(long.MinValue));
            Assert.That(read.ExpiresAt, Is.EqualTo(s_expiry), "BSON dates hold milliseconds; the sub-millisecond part is dropped");
        }
    }

    [Test]
    public void A_slice_of_a_larger_buffer_is_stored_as_exactly_that_slice()
    {
        var buffer = new byte[] { 9, 1, 2, 9 };

        var document = MongoSessionDocument.Encode("k", new SessionRecord(buffer.AsMemory(1, 2), s_expiry, 1));

        Assert.That(document["payload"].AsBsonBinaryData.Bytes, Is.EqualTo(new byte[] { 1, 2 }));
    }

    [Test]
    public void A_version_stored_as_a_32_bit_integer_by_another_writer_still_reads()
    {
        var document = MongoSessionDocument.Encode("k", new SessionRecord(new byte[] { 1 }, s_expiry, 1));
        document["version"] = new BsonInt32(7);

        Assert.That(MongoSessionDocument.Decode("k", document).Version, Is.EqualTo(7));
    }

    [TestCase("payload", "text", TestName = "Payload that is a string")]
    [TestCase("payload", null, TestName = "Missing payload")]
    [TestCase("version", 1.5, TestName = "Version that is a double")]
    [TestCase("version", null, TestName = "Missing version")]
    [TestCase("expiresAt", "2026-11-29", TestName = "Expiry that is a string")]
    [TestCase("expiresAt", null, TestName = "Missing expiry")]
    public void A_document_with_a_missing_or_mistyped_field_is_reported_corrupt(string field, object? value)
    {
        var document = MongoSessionDocument.Encode("k", new SessionRecord(new byte[] { 1 }, s_expiry, 1));
        if (value is null)
        {
            document.Remove(field);
        }
        else
        {
            document[field] = BsonValue.Create(value);
        }

        var e = Assert.Throws<SessionRecordCorruptException>(() => MongoSessionDocument.Decode("k", document));

        Assert.That(e!.Key, Is.EqualTo("k"));
        Assert.That(e.Message, Does.Contain($"'{field}'"));
    }

    [Test]
    public void A_payload_of_another_binary_subtype_is_reported_corrupt()
    {
        var document = MongoSessionDocument.Encode("k", new SessionRecord(new byte[16], s_expiry, 1));
        document["payload"] = new BsonBinaryData(Guid.NewGuid(), GuidRepresentation.Standard);

        Assert.Throws<SessionRecordCorruptException>(() => MongoSessionDocument.Decode("k", document));
    }

    [Test]
    public void The_largest_payload_leaves_room_for_the_rest_of_the_document_under_16_MiB()
    {
        var key = new string('k', SessionKeys.MaxKeyLength);
        var document = MongoSessionDocument.Encode(key, new SessionRecord(new byte[MongoSessionDocument.MaxPayloadBytes], DateTimeOffset.MaxValue, long.MaxValue));

        Assert.That(document.ToBson().Length, Is.LessThanOrEqualTo(16 * 1024 * 1024), "maxBsonObjectSize");
    }
}
