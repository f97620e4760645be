using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.DynamoDb.Tests.Support;

namespace Sessions.DynamoDb.Tests.Conformance;

// The conformance kit against dynalite. Each fixture has a table of its own (so a purge sees only its own records); each
// CreateBackendAsync returns a new backend on the shared SDK client, as separate app servers would be on one table.

[TestFixture]
public sealed class DynamoDbBackendConformanceTests : SessionBackendConformanceTests
{
    private readonly DynamoDbFixtureTable _table = new("conformance");

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        _table.WriteUnreadableRecordAsync(key, cancellationToken);

    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public Task CreateTableAsync() => _table.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteTableAsync() => _table.DeleteAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => _table.NewBackendAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => _table.NewBackendAsync(timeProvider: timeProvider);

    public override Task A_one_mebibyte_payload_round_trips()
    {
        Assert.Ignore("DynamoDB items are limited to 400 KB, so a 1 MiB record cannot be one item; the backend refuses it with a DynamoDbSessionException (see PayloadLimitTests).");
        return Task.CompletedTask;
    }
}

[TestFixture]
public sealed class DynamoDbKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    private readonly DynamoDbFixtureTable _table = new("keys");

    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public Task CreateTableAsync() => _table.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteTableAsync() => _table.DeleteAsync();

    // Small scan pages, so that the kit's 300-key listing crosses many pages.
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => _table.NewBackendAsync(scanPageSize: 37);

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => _table.NewBackendAsync(scanPageSize: 37, timeProvider);
}

[TestFixture]
public sealed class DynamoDbExpiredSessionPurgerConformanceTests : ExpiredSessionPurgerConformanceTests
{
    private readonly DynamoDbFixtureTable _table = new("purge");

    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public Task CreateTableAsync() => _table.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteTableAsync() => _table.DeleteAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => _table.NewBackendAsync(scanPageSize: 3);

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => _table.NewBackendAsync(scanPageSize: 3, timeProvider);
}

[TestFixture]
public sealed class DynamoDbHealthProbeConformanceTests : SessionBackendHealthProbeConformanceTests
{
    private readonly DynamoDbFixtureTable _table = new("probe");

    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public Task CreateTableAsync() => _table.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteTableAsync() => _table.DeleteAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => _table.NewBackendAsync();

    // An endpoint on a loopback port nothing listens on.
    protected override ValueTask<ISessionBackend> CreateUnreachableBackendAsync() =>
        new(new DynamoDbSessionBackend(new DynamoDbSessionBackendOptions
        {
            Table = _table.Name,
            ServiceUrl = $"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}",
            Region = "us-east-1",
        }));
}

[TestFixture]
public sealed class DynamoDbConformanceCompletenessTests : ConformanceCompletenessTests
{
}

/// <summary>A fixture's own sessions table on the shared endpoint, and backends on it.</summary>
internal sealed class DynamoDbFixtureTable(string label)
{
    private string? _name;

    public string Name => _name ?? throw new InvalidOperationException("The fixture's table is created in its one-time set-up.");

    public async Task CreateAsync() => _name = await Dynalite.NewSessionsTableAsync(label);

    public Task DeleteAsync() => _name is null ? Task.CompletedTask : Dynalite.DeleteTableAsync(_name);

    /// <summary>Puts an item under <paramref name="key"/> that is not a session record (a string payload, no version), bypassing the backend.</summary>
    public async ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken)
    {
        var client = await Dynalite.ClientAsync();
        await client.PutItemAsync(
            new Amazon.DynamoDBv2.Model.PutItemRequest
            {
                TableName = Name,
                Item = new()
                {
                    ["pk"] = new Amazon.DynamoDBv2.Model.AttributeValue { S = key },
                    ["payload"] = new Amazon.DynamoDBv2.Model.AttributeValue { S = "garbage written by another application" },
                },
            },
            cancellationToken);
    }

    public async ValueTask<ISessionBackend> NewBackendAsync(int? scanPageSize = null, TimeProvider? timeProvider = null) =>
        new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = Name }, timeProvider) { ScanPageSize = scanPageSize };
}
