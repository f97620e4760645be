using MongoDB.Bson;
using MongoDB.Driver;
using NUnit.Framework;

namespace Sessions.Mongo.Tests;

/// <summary>
/// The filters and updates each operation sends, rendered to BSON by the driver itself with the backend collection's
/// document serializer and serializer registry: what MongoDB receives in the <c>q</c> and <c>u</c> of each command.
/// </summary>
[TestFixture]
public sealed class CommandShapeTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 29, 12, 0, 0, 123, TimeSpan.Zero);
    private static readonly BsonDateTime s_nowDate = new(s_now.ToUnixTimeMilliseconds());

    private MongoClient _client = null!;
    private IMongoCollection<BsonDocument> _collection = null!;

    [OneTimeSetUp]
    public void CreateCollection()
    {
        // No command is sent: the client only gives the collection its serializers.
        _client = new MongoClient("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100");
        _collection = new MongoSessionBackend(_client, new MongoSessionBackendOptions { Database = "app" }).Collection;
    }

    [OneTimeTearDown]
    public void DisposeClient() => _client.Dispose();

    [Test]
    public void A_read_is_by_id()
    {
        Assert.That(Render(MongoSessionCommands.ById("k:1")), Is.EqualTo(new BsonDocument("_id", "k:1")));
    }

    [Test]
    public void If_absent_matches_only_an_expired_document_under_the_key()
    {
        Assert.That(Render(MongoSessionCommands.IfAbsent("k:1", s_now)), Is.EqualTo(new BsonDocument
        {
            { "_id", "k:1" },
            { "expiresAt", new BsonDocument("$lte", s_nowDate) },
        }));
    }

    [Test]
    public void If_version_matches_the_live_document_with_that_version()
    {
        Assert.That(Render(MongoSessionCommands.LiveWithVersion("k:1", long.MaxValue, s_now)), Is.EqualTo(new BsonDocument
        {
            { "_id", "k:1" },
            { "version", new BsonInt64(long.MaxValue) },
            { "expiresAt", new BsonDocument("$gt", s_nowDate) },
        }));
    }

    [Test]
    public void The_version_is_compared_as_a_64_bit_integer_even_when_small()
    {
        var rendered = Render(MongoSessionCommands.LiveWithVersion("k", 1, s_now));

        Assert.That(rendered["version"].BsonType, Is.EqualTo(BsonType.Int64));
    }

    [Test]
    public void Delete_and_touch_match_only_a_live_document()
    {
        Assert.That(Render(MongoSessionCommands.Live("k:1", s_now)), Is.EqualTo(new BsonDocument
        {
            { "_id", "k:1" },
            { "expiresAt", new BsonDocument("$gt", s_nowDate) },
        }));
    }

    [Test]
    public void Touch_sets_only_expiresAt()
    {
        var later = s_now.AddMinutes(20);

        Assert.That(
            MongoSessionCommands.Touch(later).Render(Args()),
            Is.EqualTo(new BsonDocument("$set", new BsonDocument("expiresAt", new BsonDateTime(later.ToUnixTimeMilliseconds())))));
    }

    [Test]
    public void Listing_a_prefix_is_an_id_range_of_live_documents()
    {
        Assert.That(Render(MongoSessionCommands.LiveKeys("user:", after: null, s_now)), Is.EqualTo(new BsonDocument
        {
            { "_id", new BsonDocument { { "$gte", "user:" }, { "$lt", "user;" } } },
            { "expiresAt", new BsonDocument("$gt", s_nowDate) },
        }));
    }

    [Test]
    public void Listing_resumes_after_the_last_key_of_the_previous_page()
    {
        Assert.That(Render(MongoSessionCommands.LiveKeys("user:", after: "user:42", s_now)), Is.EqualTo(new BsonDocument
        {
            { "_id", new BsonDocument { { "$gt", "user:42" }, { "$lt", "user;" } } },
            { "expiresAt", new BsonDocument("$gt", s_nowDate) },
        }));
    }

    [Test]
    public void Listing_everything_takes_string_ids_only()
    {
        Assert.That(Render(MongoSessionCommands.LiveKeys(string.Empty, after: null, s_now)), Is.EqualTo(new BsonDocument
        {
            { "_id", new BsonDocument("$type", 2) },
            { "expiresAt", new BsonDocument("$gt", s_nowDate) },
        }));
    }

    [TestCase("a", "b")]
    [TestCase("kit:", "kit;")]
    [TestCase("x}", "x~")]
    [TestCase("x~", "x\u007f")]
    public void The_upper_bound_of_a_prefix_is_its_last_character_plus_one(string prefix, string bound)
    {
        Assert.That(MongoSessionCommands.UpperBound(prefix), Is.EqualTo(bound));
    }

    [Test]
    public void A_purge_finds_expired_documents_then_deletes_those_still_expired()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Render(MongoSessionCommands.Expired(s_now)), Is.EqualTo(new BsonDocument("expiresAt", new BsonDocument("$lte", s_nowDate))));
            Assert.That(Render(MongoSessionCommands.StillExpired([new BsonString("a"), new BsonString("b")], s_now)), Is.EqualTo(new BsonDocument
            {
                { "_id", new BsonDocument("$in", new BsonArray { "a", "b" }) },
                { "expiresAt", new BsonDocument("$lte", s_nowDate) },
            }));
        }
    }

    [Test]
    public void Listing_reads_keys_only_in_key_order()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(MongoSessionCommands.KeyOnly.Render(Args()), Is.EqualTo(new BsonDocument("_id", 1)));
            Assert.That(MongoSessionCommands.ByKey.Render(Args()), Is.EqualTo(new BsonDocument("_id", 1)));
        }
    }

    [Test]
    public void The_ttl_index_is_on_expiresAt_with_expireAfterSeconds_zero()
    {
        var index = MongoSessionCommands.TtlIndex;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(index.Keys.Render(Args()), Is.EqualTo(new BsonDocument("expiresAt", 1)));
            Assert.That(index.Options.ExpireAfter, Is.EqualTo(TimeSpan.Zero));
            Assert.That(index.Options.Name, Is.EqualTo("expiresAt_ttl"));
        }
    }

    private BsonDocument Render(FilterDefinition<BsonDocument> filter) => filter.Render(Args());

    private RenderArgs<BsonDocument> Args() => new(_collection.DocumentSerializer, _collection.Settings.SerializerRegistry);
}
