using Google.Protobuf;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using Sessions.Backends;
using Sessions.Firestore.Protocol;

namespace Sessions.Firestore;

/// <summary>
/// The document that holds one session: <c>payload</c> (bytes), <c>version</c> (integer) and <c>expiresAt</c>
/// (timestamp, the field a Firestore TTL policy deletes by). Reads check every field's presence and type.
/// </summary>
internal static class SessionDocument
{
    public const string PayloadField = "payload";
    public const string VersionField = "version";
    public const string ExpiresAtField = "expiresAt";

    /// <summary>Firestore's largest document, in bytes: 1 MiB less 4 bytes (the API reference, <c>Document</c>).</summary>
    public const int MaxDocumentBytes = (1024 * 1024) - 4;

    // Storage size of a document (Firestore's "storage size calculations"): 32 bytes, the name (each collection and
    // document ID's UTF-8 bytes + 1, plus 16), and each field (name bytes + 1, plus the value: bytes' length, 8 for an
    // integer or a timestamp).
    private const int FixedBytes = 32 + 16 + (PayloadFieldBytes + 1) + (VersionFieldBytes + 1 + 8) + (ExpiresAtFieldBytes + 1 + 8);
    private const int PayloadFieldBytes = 7;
    private const int VersionFieldBytes = 7;
    private const int ExpiresAtFieldBytes = 9;

    /// <summary>The largest payload that fits in one document under any key of this collection.</summary>
    public static int MaxPayloadBytes(int collectionIdBytes) => MaxDocumentBytes - FixedBytes - (collectionIdBytes + 1) - (SessionDocumentIds.MaxIdBytes + 1);

    /// <summary>The storage size of the document for <paramref name="payloadBytes"/> under a document ID of <paramref name="idBytes"/>.</summary>
    public static int Size(int collectionIdBytes, int idBytes, int payloadBytes) => FixedBytes + (collectionIdBytes + 1) + (idBytes + 1) + payloadBytes;

    public static Document Encode(string name, SessionRecord record)
    {
        var document = new Document { Name = name };
        // The payload is wrapped, not copied: the message is serialized before SetAsync returns.
        document.Fields.Add(PayloadField, new Value { BytesValue = UnsafeByteOperations.UnsafeWrap(record.Payload) });
        document.Fields.Add(VersionField, new Value { IntegerValue = record.Version });
        document.Fields.Add(ExpiresAtField, TimestampValue(record.ExpiresAt));
        return document;
    }

    public static Value TimestampValue(DateTimeOffset instant) => new() { TimestampValue = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(instant) };

    /// <summary>Reads a whole document as a record; throws <see cref="SessionRecordCorruptException"/> when a field is missing or of another type.</summary>
    public static SessionRecord Decode(string key, Document document)
    {
        var (version, expiresAt) = DecodeHeader(key, document);
        if (!document.Fields.TryGetValue(PayloadField, out var payload) || payload.ValueTypeCase != Value.ValueTypeOneofCase.BytesValue)
        {
            throw Corrupt(key, document, PayloadField, "bytes");
        }

        return new SessionRecord(payload.BytesValue.Memory, expiresAt, version)
        {
            ConcurrencyToken = new FirestoreConcurrencyToken(key, document.UpdateTime, version, expiresAt),
        };
    }

    /// <summary>Reads the version and expiry (what a masked read returns); throws <see cref="SessionRecordCorruptException"/> when either is missing or of another type.</summary>
    public static (long Version, DateTimeOffset ExpiresAt) DecodeHeader(string key, Document document)
    {
        if (!document.Fields.TryGetValue(VersionField, out var version) || version.ValueTypeCase != Value.ValueTypeOneofCase.IntegerValue)
        {
            throw Corrupt(key, document, VersionField, "integer");
        }

        if (!document.Fields.TryGetValue(ExpiresAtField, out var expiresAt) || expiresAt.ValueTypeCase != Value.ValueTypeOneofCase.TimestampValue)
        {
            throw Corrupt(key, document, ExpiresAtField, "timestamp");
        }

        DateTimeOffset expiry;
        try
        {
            expiry = expiresAt.TimestampValue.ToDateTimeOffset();
        }
        catch (InvalidOperationException e)
        {
            throw new SessionRecordCorruptException($"Firestore document {document.Name} has an expiresAt outside .NET's range: {e.Message}", e) { Key = key };
        }

        return (version.IntegerValue, expiry);
    }

    private static SessionRecordCorruptException Corrupt(string key, Document document, string field, string type)
    {
        var found = document.Fields.TryGetValue(field, out var value) ? $"a {value.ValueTypeCase} value" : "no such field";
        return new SessionRecordCorruptException(
            $"Firestore document {document.Name} is not a session record: field '{field}' must be of type {type}, but the document has {found}.")
        {
            Key = key,
            StoredBytes = document.Fields.TryGetValue(PayloadField, out var p) && p.ValueTypeCase == Value.ValueTypeOneofCase.BytesValue ? p.BytesValue.Length : null,
        };
    }
}

/// <summary>
/// What <see cref="SessionRecord.ConcurrencyToken"/> holds for a Firestore record: the document's <c>update_time</c> as read,
/// and the version and expiry that document had. While <c>update_time</c> is unchanged the document is unchanged, so a write
/// with an <c>update_time</c> precondition needs no new read to know the version and expiry it replaces.
/// </summary>
internal sealed record FirestoreConcurrencyToken(string Key, Timestamp UpdateTime, long Version, DateTimeOffset ExpiresAt);
