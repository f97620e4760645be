using System.Text.Json;
using System.Text.Json.Serialization;
using Sessions.Backends;

namespace Sessions.Elasticsearch;

/// <summary>
/// The document stored per session, under <c>_id</c> = the storage key:
/// <c>{ "key": string, "payload": base64, "version": long, "expiresAt": epoch milliseconds }</c>. <c>key</c> repeats the
/// <c>_id</c> as a keyword field, because Elasticsearch cannot sort on <c>_id</c> (listing pages in key order) and prefix
/// queries belong on a keyword field.
/// </summary>
internal sealed class ElasticsearchSessionDocument
{
    public const string KeyField = "key";
    public const string PayloadField = "payload";
    public const string VersionField = "version";
    public const string ExpiresAtField = "expiresAt";

    /// <summary>The storage key (a <c>keyword</c>).</summary>
    [JsonPropertyName(KeyField)]
    public string Key { get; set; } = string.Empty;

    /// <summary>The payload (<c>binary</c>: base64 in JSON, kept in <c>_source</c>, not indexed).</summary>
    [JsonPropertyName(PayloadField)]
    public byte[] Payload { get; set; } = [];

    /// <summary>The record's version (<c>long</c>; JSON integers are exact in <c>_source</c>).</summary>
    [JsonPropertyName(VersionField)]
    public long Version { get; set; }

    /// <summary>The expiry in Unix milliseconds (<c>date</c> with format <c>epoch_millis</c>).</summary>
    [JsonPropertyName(ExpiresAtField)]
    public long ExpiresAt { get; set; }

    public static ElasticsearchSessionDocument Encode(string key, SessionRecord record) => new()
    {
        Key = key,
        Payload = record.Payload.ToArray(),
        Version = record.Version,
        ExpiresAt = record.ExpiresAt.ToUnixTimeMilliseconds(),
    };

    /// <summary>Reads a document's <c>_source</c> as a record.</summary>
    /// <exception cref="SessionRecordCorruptException">A field is missing or of the wrong JSON type.</exception>
    public static (SessionRecord Record, long ExpiresAtMs) Decode(string key, JsonElement source)
    {
        if (source.ValueKind != JsonValueKind.Object)
        {
            throw Corrupt(key, $"_source is a JSON {source.ValueKind}, not an object");
        }

        if (!source.TryGetProperty(PayloadField, out var payload) || payload.ValueKind != JsonValueKind.String || !payload.TryGetBytesFromBase64(out var bytes))
        {
            throw Corrupt(key, $"'{PayloadField}' is missing or not base64");
        }

        if (!source.TryGetProperty(VersionField, out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt64(out var v))
        {
            throw Corrupt(key, $"'{VersionField}' is missing or not a 64-bit integer");
        }

        if (!source.TryGetProperty(ExpiresAtField, out var expires) || expires.ValueKind != JsonValueKind.Number || !expires.TryGetInt64(out var ms)
            || ms < -62_135_596_800_000 || ms > 253_402_300_799_999)
        {
            throw Corrupt(key, $"'{ExpiresAtField}' is missing or not epoch milliseconds");
        }

        return (new SessionRecord(bytes, DateTimeOffset.FromUnixTimeMilliseconds(ms), v), ms);
    }

    private static SessionRecordCorruptException Corrupt(string key, string why) =>
        new($"The Elasticsearch document under '{key}' is not a session record: {why}.") { Key = key };
}

/// <summary>The partial document of a touch: <c>{ "expiresAt": epoch milliseconds }</c>.</summary>
internal sealed class ElasticsearchExpiryPatch
{
    [JsonPropertyName(ElasticsearchSessionDocument.ExpiresAtField)]
    public long ExpiresAt { get; set; }
}

/// <summary>
/// The <see cref="SessionRecord.ConcurrencyToken"/> of a record read from Elasticsearch: its <c>_seq_no</c> and
/// <c>_primary_term</c> (the preconditions <c>if_seq_no</c> / <c>if_primary_term</c> take), with the version and expiry read.
/// </summary>
/// <param name="SeqNo">The document's sequence number when read.</param>
/// <param name="PrimaryTerm">The document's primary term when read.</param>
/// <param name="Version">The record's version when read.</param>
/// <param name="ExpiresAtMs">The record's expiry when read, in Unix milliseconds.</param>
internal sealed record ElasticsearchConcurrencyToken(long SeqNo, long PrimaryTerm, long Version, long ExpiresAtMs);
