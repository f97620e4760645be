using MongoDB.Bson;
using MongoDB.Driver;

namespace Sessions.Mongo;

/// <summary>
/// The filters and updates of every operation, in one place so that tests render exactly what the backend sends. A
/// document is live while <c>expiresAt &gt; now</c>, with <c>now</c> from the backend's <see cref="TimeProvider"/>; every
/// condition sits in the filter of one server-side command, so MongoDB applies it atomically with the write.
/// </summary>
internal static class MongoSessionCommands
{
    private static readonly FilterDefinitionBuilder<BsonDocument> s_filter = Builders<BsonDocument>.Filter;

    /// <summary><c>{ _id: key }</c>: the read, and the target of <c>SetCondition.Always</c> (an upserting replace).</summary>
    public static FilterDefinition<BsonDocument> ById(string key) => s_filter.Eq(MongoSessionDocument.Id, key);

    /// <summary>
    /// <c>{ _id: key, expiresAt: { $lte: now } }</c>: <c>IfAbsent</c> as an upserting replace. A missing document is inserted;
    /// an expired one matches and is replaced; a live one does not match, so the upsert tries to insert a second document
    /// with the same <c>_id</c> and the server refuses it with a duplicate key error (11000), which means "not written".
    /// </summary>
    public static FilterDefinition<BsonDocument> IfAbsent(string key, DateTimeOffset now) =>
        s_filter.And(ById(key), s_filter.Lte(MongoSessionDocument.ExpiresAt, MongoSessionDocument.Date(now)));

    /// <summary><c>{ _id: key, expiresAt: { $gt: now } }</c>: the live document, for touch and unversioned delete.</summary>
    public static FilterDefinition<BsonDocument> Live(string key, DateTimeOffset now) =>
        s_filter.And(ById(key), s_filter.Gt(MongoSessionDocument.ExpiresAt, MongoSessionDocument.Date(now)));

    /// <summary><c>{ _id: key, version: v, expiresAt: { $gt: now } }</c>: <c>IfVersion</c> and the versioned delete.</summary>
    public static FilterDefinition<BsonDocument> LiveWithVersion(string key, long version, DateTimeOffset now) =>
        s_filter.And(ById(key), s_filter.Eq(MongoSessionDocument.Version, new BsonInt64(version)), s_filter.Gt(MongoSessionDocument.ExpiresAt, MongoSessionDocument.Date(now)));

    /// <summary><c>{ $set: { expiresAt: date } }</c>: the touch.</summary>
    public static UpdateDefinition<BsonDocument> Touch(DateTimeOffset expiresAt) =>
        Builders<BsonDocument>.Update.Set(MongoSessionDocument.ExpiresAt, MongoSessionDocument.Date(expiresAt));

    /// <summary>
    /// One page of live keys under <paramref name="prefix"/> after <paramref name="after"/>: an <c>_id</c> range (ordinal, since
    /// MongoDB compares strings by their UTF-8 bytes without a collation) and <c>expiresAt &gt; now</c>.
    /// </summary>
    public static FilterDefinition<BsonDocument> LiveKeys(string prefix, string? after, DateTimeOffset now)
    {
        var filters = new List<FilterDefinition<BsonDocument>>(3);
        if (after is not null)
        {
            filters.Add(s_filter.Gt(MongoSessionDocument.Id, after));
        }
        else if (prefix.Length > 0)
        {
            filters.Add(s_filter.Gte(MongoSessionDocument.Id, prefix));
        }

        if (prefix.Length > 0)
        {
            filters.Add(s_filter.Lt(MongoSessionDocument.Id, UpperBound(prefix)));
        }
        else
        {
            filters.Add(s_filter.Type(MongoSessionDocument.Id, BsonType.String));
        }

        filters.Add(s_filter.Gt(MongoSessionDocument.ExpiresAt, MongoSessionDocument.Date(now)));
        return s_filter.And(filters);
    }

    /// <summary><c>{ expiresAt: { $lte: now } }</c>: the expired documents a purge looks for (served by the TTL index when there is one).</summary>
    public static FilterDefinition<BsonDocument> Expired(DateTimeOffset now) => s_filter.Lte(MongoSessionDocument.ExpiresAt, MongoSessionDocument.Date(now));

    /// <summary>
    /// <c>{ _id: { $in: ids }, expiresAt: { $lte: now } }</c>: deletes a purge batch, judged again at delete time so that a
    /// document touched or rewritten since it was found is kept.
    /// </summary>
    public static FilterDefinition<BsonDocument> StillExpired(IEnumerable<BsonValue> ids, DateTimeOffset now) =>
        s_filter.And(s_filter.In(MongoSessionDocument.Id, ids), s_filter.Lte(MongoSessionDocument.ExpiresAt, MongoSessionDocument.Date(now)));

    /// <summary><c>{ _id: 1 }</c>: listing and purging read keys only.</summary>
    public static ProjectionDefinition<BsonDocument> KeyOnly { get; } = Builders<BsonDocument>.Projection.Include(MongoSessionDocument.Id);

    /// <summary><c>{ _id: 1 }</c>: keys in ascending order, so that paging resumes after the last key seen.</summary>
    public static SortDefinition<BsonDocument> ByKey { get; } = Builders<BsonDocument>.Sort.Ascending(MongoSessionDocument.Id);

    /// <summary>The TTL index: <c>{ expiresAt: 1 }</c>, <c>expireAfterSeconds: 0</c> (MongoDB deletes a document once its date has passed, within about a minute).</summary>
    public static CreateIndexModel<BsonDocument> TtlIndex { get; } = new(
        Builders<BsonDocument>.IndexKeys.Ascending(MongoSessionDocument.ExpiresAt),
        new CreateIndexOptions { Name = TtlIndexName, ExpireAfter = TimeSpan.Zero });

    /// <summary>The TTL index's name.</summary>
    public const string TtlIndexName = "expiresAt_ttl";

    /// <summary>The smallest string greater than every string that starts with <paramref name="prefix"/> (keys are ASCII below U+007F).</summary>
    internal static string UpperBound(string prefix) => string.Concat(prefix.AsSpan(0, prefix.Length - 1), ((char)(prefix[^1] + 1)).ToString());
}
