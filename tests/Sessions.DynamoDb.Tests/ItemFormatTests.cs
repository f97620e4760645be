using Amazon.DynamoDBv2.Model;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.DynamoDb.Tests.Support;

namespace Sessions.DynamoDb.Tests;

/// <summary>What an item holds in the table, read back with the SDK: the layout other tools (and DynamoDB's TTL) depend on.</summary>
[TestFixture]
public sealed class ItemFormatTests
{
    private readonly Conformance.DynamoDbFixtureTable _table = new("format");

    [OneTimeSetUp]
    public Task CreateTableAsync() => _table.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteTableAsync() => _table.DeleteAsync();

    [Test]
    public async Task An_item_holds_key_payload_version_exact_expiry_and_ttl_seconds_rounded_up()
    {
        await using var backend = (DynamoDbSessionBackend)await _table.NewBackendAsync();
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(4_102_444_800_123); // 2100-01-01T00:00:00.123Z
        await backend.SetAsync("session:abc", new SessionRecord(new byte[] { 0, 1, 255 }, expiresAt, 9_007_199_254_740_993), SetCondition.Always, CancellationToken.None);

        var item = await RawAsync("session:abc");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(item["pk"].S, Is.EqualTo("session:abc"), "pk");
            Assert.That(item["payload"].B.ToArray(), Is.EqualTo(new byte[] { 0, 1, 255 }), "payload");
            Assert.That(item["version"].N, Is.EqualTo("9007199254740993"), "version");
            Assert.That(item["expires_ms"].N, Is.EqualTo("4102444800123"), "expires_ms");
            Assert.That(item["ttl"].N, Is.EqualTo("4102444801"), "ttl: Unix seconds, rounded up so DynamoDB never deletes early");
        }
    }

    [Test]
    public async Task An_empty_payload_is_stored_without_a_payload_attribute_and_reads_back_empty()
    {
        await using var backend = (DynamoDbSessionBackend)await _table.NewBackendAsync();
        await backend.SetAsync("empty", new SessionRecord(ReadOnlyMemory<byte>.Empty, DateTimeOffset.UtcNow.AddHours(1), 3), SetCondition.Always, CancellationToken.None);

        Assert.That((await RawAsync("empty")).ContainsKey("payload"), Is.False);
        var record = await backend.GetAsync("empty", CancellationToken.None);
        Assert.That(record?.Payload.Length, Is.Zero);
    }

    [Test]
    public async Task A_touch_rewrites_only_the_expiry_attributes()
    {
        await using var backend = (DynamoDbSessionBackend)await _table.NewBackendAsync();
        await backend.SetAsync("touched", new SessionRecord(new byte[] { 7, 7 }, DateTimeOffset.UtcNow.AddMinutes(5), 4), SetCondition.Always, CancellationToken.None);
        var before = await RawAsync("touched");
        var newExpiry = DateTimeOffset.FromUnixTimeMilliseconds(4_102_444_800_000);

        Assert.That(await backend.TouchAsync("touched", newExpiry, CancellationToken.None), Is.True);

        var after = await RawAsync("touched");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(after["payload"].B.ToArray(), Is.EqualTo(before["payload"].B.ToArray()), "payload");
            Assert.That(after["version"].N, Is.EqualTo("4"), "version");
            Assert.That(after["expires_ms"].N, Is.EqualTo("4102444800000"), "expires_ms");
            Assert.That(after["ttl"].N, Is.EqualTo("4102444800"), "ttl (a whole second stays as it is)");
        }
    }

    [Test]
    public async Task An_expired_item_still_in_the_table_reads_as_absent_and_yields_to_IfAbsent()
    {
        // DynamoDB's TTL deletes lazily (dynalite never does): the item stays, and the backend must ignore it.
        await using var backend = (DynamoDbSessionBackend)await _table.NewBackendAsync();
        await backend.SetAsync("stale", new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddMinutes(-5), 1), SetCondition.Always, CancellationToken.None);
        Assert.That(await RawAsync("stale"), Is.Not.Empty, "the expired item is in the table");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.GetAsync("stale", CancellationToken.None), Is.Null, "GetAsync");
            Assert.That(await backend.TouchAsync("stale", DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None), Is.False, "TouchAsync");
            Assert.That(await backend.RemoveAsync("stale", 1, CancellationToken.None), Is.False, "RemoveAsync(1)");
            Assert.That(await backend.SetAsync("stale", new SessionRecord(new byte[] { 2 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.IfVersion(1), CancellationToken.None), Is.False, "SetAsync(IfVersion(1))");
            Assert.That(await backend.SetAsync("stale", new SessionRecord(new byte[] { 3 }, DateTimeOffset.UtcNow.AddHours(1), 2), SetCondition.IfAbsent, CancellationToken.None), Is.True, "SetAsync(IfAbsent)");
        }
    }

    [Test]
    public async Task An_item_that_is_not_a_session_item_is_reported_as_corrupt_and_can_be_replaced()
    {
        var client = await Dynalite.ClientAsync();
        await client.PutItemAsync(new PutItemRequest { TableName = _table.Name, Item = new() { ["pk"] = new AttributeValue { S = "foreign" }, ["note"] = new AttributeValue { S = "x" } } });
        await using var backend = (DynamoDbSessionBackend)await _table.NewBackendAsync();

        var ex = Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await backend.GetAsync("foreign", CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("not a session record").And.Contain("note"));
        Assert.That(await backend.SetAsync("foreign", new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.IfAbsent, CancellationToken.None), Is.True);
    }

    private async Task<Dictionary<string, AttributeValue>> RawAsync(string key)
    {
        var response = await (await Dynalite.ClientAsync()).GetItemAsync(new GetItemRequest
        {
            TableName = _table.Name,
            Key = new() { ["pk"] = new AttributeValue { S = key } },
            ConsistentRead = true,
        });
        return response.Item ?? [];
    }
}
