using MongoDB.Bson;
using Sessions.Backends;

namespace Sessions.Mongo;

/// <summary>
/// The document stored per session: <c>{ _id: key (string), payload: binary (subtype 0), version: long, expiresAt: date }</c>.
/// BSON dates count milliseconds, so expiries are stored to the millisecond (rounded down).
/// </summary>
internal static class MongoSessionDocument
{
    public const string Id = "_id";
    public const string Payload = "payload";
    public const string Version = "version";
    public const string ExpiresAt = "expiresAt";

    /// <summary>MongoDB's largest BSON document: 16 MiB (the server's <c>maxBsonObjectSize</c>, 16,777,216 bytes).</summary>
    public const int MaxDocumentBytes = 16 * 1024 * 1024;

    /// <summary>
    /// The largest payload, in bytes: <see cref="MaxDocumentBytes"/> less 1 KiB for the rest of the document (a 250-byte key,
    /// field names, the version, the date and BSON framing come to about 320 bytes).
    /// </summary>
    public const int MaxPayloadBytes = MaxDocumentBytes - 1024;

    /// <summary>The document for <paramref name="record"/> under <paramref name="key"/>. Copies the payload.</summary>
    public static BsonDocument Encode(string key, SessionRecord record) => new()
    {
        { Id, key },
        { Payload, new BsonBinaryData(record.Payload.ToArray(), BsonBinarySubType.Binary) },
        { Version, new BsonInt64(record.Version) },
        { ExpiresAt, Date(record.ExpiresAt) },
    };

    /// <summary>A BSON date for <paramref name="instant"/>, to the millisecond.</summary>
    public static BsonDateTime Date(DateTimeOffset instant) => new(instant.ToUnixTimeMilliseconds());

    /// <summary>Reads a stored document back as a record.</summary>
    /// <exception cref="SessionRecordCorruptException">A field is missing or of the wrong BSON type.</exception>
    public static SessionRecord Decode(string key, BsonDocument document)
    {
        if (!document.TryGetValue(Payload, out var payload) || payload is not BsonBinaryData { SubType: BsonBinarySubType.Binary } binary)
        {
            throw Corrupt(key, document, $"'{Payload}' is missing or not binary data (subtype 0)");
        }

        if (!document.TryGetValue(Version, out var version) || version is not (BsonInt64 or BsonInt32))
        {
            throw Corrupt(key, document, $"'{Version}' is missing or not an integer");
        }

        if (!document.TryGetValue(ExpiresAt, out var expiresAt) || expiresAt is not BsonDateTime date || !date.IsValidDateTime)
        {
            throw Corrupt(key, document, $"'{ExpiresAt}' is missing or not a date");
        }

        return new SessionRecord(binary.Bytes, DateTimeOffset.FromUnixTimeMilliseconds(date.MillisecondsSinceEpoch), version.ToInt64());
    }

    private static SessionRecordCorruptException Corrupt(string key, BsonDocument document, string why) =>
        new($"The MongoDB document under '{key}' is not a session record: {why}.")
        {
            Key = key,
            StoredBytes = document.TryGetValue(Payload, out var p) && p is BsonBinaryData b ? b.Bytes.Length : null,
        };
}
