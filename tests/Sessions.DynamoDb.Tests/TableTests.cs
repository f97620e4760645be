using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.DynamoDb.Tests.Support;

namespace Sessions.DynamoDb.Tests;

/// <summary>The table is used as it is by default, created on request, and refused with a clear message when missing or shaped wrongly.</summary>
[TestFixture]
public sealed class TableTests
{
    private static readonly SessionRecord s_record = new(new byte[] { 1, 2, 3 }, DateTimeOffset.UtcNow.AddHours(1), 1);

    [Test]
    public async Task A_missing_table_fails_with_a_message_that_names_it_and_says_what_to_set()
    {
        var url = await Dynalite.ServiceUrlAsync();
        var table = Dynalite.NewTableName("missing");
        await using var backend = new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table });

        var error = Assert.ThrowsAsync<DynamoDbSessionException>(async () => await backend.EnsureTableAsync(CancellationToken.None));

        Assert.That(
            error!.Message,
            Does.StartWith($"DynamoDB table '{table}' does not exist at {url}; create it").And.Contain("or set Sessions:DynamoDb:CreateTable=true"));
        Assert.That(error.Table, Is.EqualTo(table));
    }

    [Test]
    public async Task Every_operation_on_a_missing_table_fails_with_that_message_and_creates_nothing()
    {
        var table = Dynalite.NewTableName("missing-ops");
        await using var backend = new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(async () => await backend.GetAsync("k", CancellationToken.None), Throws.TypeOf<DynamoDbSessionException>().With.Message.Contains("does not exist"));
            Assert.That(async () => await backend.SetAsync("k", s_record, SetCondition.Always, CancellationToken.None), Throws.TypeOf<DynamoDbSessionException>().With.Message.Contains("does not exist"));
            Assert.That(async () => await backend.RemoveAsync("k", null, CancellationToken.None), Throws.TypeOf<DynamoDbSessionException>().With.Message.Contains("does not exist"));
            Assert.That(async () => await backend.TouchAsync("k", DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None), Throws.TypeOf<DynamoDbSessionException>().With.Message.Contains("does not exist"));
            Assert.That(async () => await backend.ProbeAsync(CancellationToken.None), Throws.TypeOf<DynamoDbSessionException>().With.Message.Contains("does not exist"));
        }

        Assert.That(await DescribeAsync(table), Is.Null, "a backend without CreateTable created the table");
    }

    [Test]
    public async Task A_table_created_later_is_picked_up_without_a_restart()
    {
        var table = Dynalite.NewTableName("later");
        await using var backend = new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table });
        Assert.That(async () => await backend.GetAsync("k", CancellationToken.None), Throws.TypeOf<DynamoDbSessionException>());

        await using (var creator = new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table, CreateTable = true }))
        {
            await creator.EnsureTableAsync(CancellationToken.None);
        }

        try
        {
            Assert.That(await backend.SetAsync("k", s_record, SetCondition.IfAbsent, CancellationToken.None), Is.True, "a write once the table exists");
        }
        finally
        {
            await Dynalite.DeleteTableAsync(table);
        }
    }

    [Test]
    public async Task CreateTable_creates_an_on_demand_table_keyed_by_pk_and_asks_for_time_to_live()
    {
        var table = Dynalite.NewTableName("created");
        var logger = new CapturingLogger<DynamoDbSessionBackend>();
        await using var backend = new DynamoDbSessionBackend(
            await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table, CreateTable = true }, logger: logger);
        try
        {
            await backend.EnsureTableAsync(CancellationToken.None);

            var description = await DescribeAsync(table);
            Assert.That(description, Is.Not.Null, "the table after EnsureTableAsync with CreateTable");
            using (Assert.EnterMultipleScope())
            {
                Assert.That(description!.TableStatus, Is.EqualTo(TableStatus.ACTIVE), "the table is active before the check returns");
                Assert.That(description.BillingModeSummary?.BillingMode, Is.EqualTo(BillingMode.PAY_PER_REQUEST), "billing mode");
                Assert.That(description.KeySchema.Select(k => $"{k.AttributeName}:{k.KeyType.Value}"), Is.EqualTo(new[] { "pk:HASH" }), "key schema");
                Assert.That(description.AttributeDefinitions.Select(a => $"{a.AttributeName}:{a.AttributeType.Value}"), Is.EqualTo(new[] { "pk:S" }), "attribute definitions");
            }

            // dynalite has no UpdateTimeToLive: the backend logs a warning and carries on. A real endpoint enables TTL on 'ttl'.
            var ttl = (await (await Dynalite.ClientAsync()).DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = table })).TimeToLiveDescription;
            var enabled = ttl.TimeToLiveStatus == TimeToLiveStatus.ENABLED || ttl.TimeToLiveStatus == TimeToLiveStatus.ENABLING;
            var warned = logger.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("Could not enable DynamoDB time-to-live", StringComparison.Ordinal));
            Assert.That(enabled ? ttl.AttributeName : (warned ? "warned" : "neither"), Is.EqualTo(enabled ? "ttl" : "warned"), "TTL enabled on 'ttl', or a warning that it could not be");

            Assert.That(await backend.SetAsync("k", s_record, SetCondition.IfAbsent, CancellationToken.None), Is.True, "a write to the new table");
        }
        finally
        {
            await Dynalite.DeleteTableAsync(table);
        }
    }

    [Test]
    public async Task CreateTable_uses_an_existing_table_as_it_is()
    {
        var table = await Dynalite.NewSessionsTableAsync("existing");
        try
        {
            await using var writer = new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table });
            await writer.SetAsync("kept", s_record, SetCondition.Always, CancellationToken.None);

            await using var backend = new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table, CreateTable = true });
            await backend.EnsureTableAsync(CancellationToken.None);

            Assert.That((await backend.GetAsync("kept", CancellationToken.None))?.Version, Is.EqualTo(1), "a record written before, read through a CreateTable backend");
        }
        finally
        {
            await Dynalite.DeleteTableAsync(table);
        }
    }

    [Test]
    public async Task Several_instances_creating_the_same_table_at_once_all_succeed()
    {
        var table = Dynalite.NewTableName("race");
        var client = await Dynalite.ClientAsync();
        var backends = Enumerable.Range(0, 4).Select(_ => new DynamoDbSessionBackend(client, new DynamoDbSessionBackendOptions { Table = table, CreateTable = true })).ToList();
        try
        {
            await Task.WhenAll(backends.Select(b => b.EnsureTableAsync(CancellationToken.None)));

            Assert.That(await backends[^1].SetAsync("k", s_record, SetCondition.IfAbsent, CancellationToken.None), Is.True);
        }
        finally
        {
            backends.ForEach(b => b.Dispose());
            await Dynalite.DeleteTableAsync(table);
        }
    }

    [TestCase("id", "S", null, TestName = "A_table_keyed_by_another_attribute_is_refused")]
    [TestCase("pk", "N", null, TestName = "A_table_with_a_numeric_pk_is_refused")]
    [TestCase("pk", "S", "sk", TestName = "A_table_with_a_sort_key_is_refused")]
    public async Task A_table_with_the_wrong_key_schema_is_refused_with_a_message_that_shows_it(string hashKey, string hashType, string? sortKey)
    {
        var table = Dynalite.NewTableName("wrong");
        var client = await Dynalite.ClientAsync();
        var request = new CreateTableRequest
        {
            TableName = table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement(hashKey, KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition(hashKey, new ScalarAttributeType(hashType))],
        };
        if (sortKey is not null)
        {
            request.KeySchema.Add(new KeySchemaElement(sortKey, KeyType.RANGE));
            request.AttributeDefinitions.Add(new AttributeDefinition(sortKey, ScalarAttributeType.S));
        }

        await client.CreateTableAsync(request);
        try
        {
            // CreateTable too: an existing table is never replaced or altered.
            await using var backend = new DynamoDbSessionBackend(client, new DynamoDbSessionBackendOptions { Table = table, CreateTable = true });

            var error = Assert.ThrowsAsync<DynamoDbSessionException>(async () => await backend.EnsureTableAsync(CancellationToken.None));

            Assert.That(error!.Message, Does.StartWith($"DynamoDB table '{table}' at {await Dynalite.ServiceUrlAsync()} has the key schema {hashKey} ({hashType}, HASH)")
                .And.Contain("single String partition key named 'pk' and no sort key"));
            Assert.That(async () => await backend.GetAsync("k", CancellationToken.None), Throws.TypeOf<DynamoDbSessionException>().With.Message.Contains("key schema"), "operations fail the same way");
        }
        finally
        {
            await Dynalite.DeleteTableAsync(table);
        }
    }

    [Test]
    public async Task The_health_probe_answers_for_an_existing_table()
    {
        var table = await Dynalite.NewSessionsTableAsync("probe");
        try
        {
            await using var backend = new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table });

            Assert.That(async () => await backend.ProbeAsync(CancellationToken.None), Throws.Nothing);
        }
        finally
        {
            await Dynalite.DeleteTableAsync(table);
        }
    }

    private static async Task<TableDescription?> DescribeAsync(string table)
    {
        try
        {
            return (await (await Dynalite.ClientAsync()).DescribeTableAsync(new DescribeTableRequest { TableName = table })).Table;
        }
        catch (ResourceNotFoundException)
        {
            return null;
        }
    }
}
