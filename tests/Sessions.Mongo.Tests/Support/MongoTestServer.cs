using MongoDB.Bson;
using MongoDB.Driver;
using NUnit.Framework;

namespace Sessions.Mongo.Tests.Support;

/// <summary>
/// The real MongoDB server the kit runs against, named by <c>SESSIONS_TEST_MONGODB_URI</c> (a connection string such as
/// <c>mongodb://127.0.0.1:27017</c>). No MongoDB server can be installed on the project's machines, so without the variable
/// the kit's fixtures are ignored, never passed. Each fixture works in a database of its own, dropped afterwards.
/// </summary>
internal static class MongoTestServer
{
    public const string Variable = "SESSIONS_TEST_MONGODB_URI";

    private static readonly Lazy<MongoClient> s_client = new(() => new MongoClient(ConnectionString));

    /// <summary>The connection string; calls <see cref="Assert.Ignore(string)"/> when the variable is not set.</summary>
    public static string ConnectionString
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(Variable);
            if (string.IsNullOrWhiteSpace(value))
            {
                Assert.Ignore(
                    $"{Variable} is not set: no MongoDB server runs here, so the conformance kit cannot run. " +
                    $"Point it at a disposable server to run it, e.g. {Variable}=mongodb://127.0.0.1:27017 dotnet test tests/Sessions.Mongo.Tests");
            }

            return value;
        }
    }

    /// <summary>One client for the whole run, shared by the fixtures' backends (which never dispose it).</summary>
    public static MongoClient Client => s_client.Value;

    public static bool IsConfigured => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable));
}

/// <summary>A fixture's own database on the server, and backends on it.</summary>
internal sealed class FixtureDatabase(string label)
{
    private string? _name;

    public string Name => _name ?? throw new InvalidOperationException("The fixture's database is chosen in its one-time set-up.");

    public MongoSessionBackendOptions Options(int batchSize = MongoSessionBackendOptions.DefaultBatchSize) => new()
    {
        ConnectionString = MongoTestServer.ConnectionString,
        Database = Name,
        BatchSize = batchSize,
    };

    /// <summary>
    /// Chooses the database and, unless <paramref name="ttlIndex"/> is false, creates the TTL index (the backend's own
    /// <c>EnsureIndexesAsync</c>), as a deployment would.
    /// </summary>
    /// <param name="ttlIndex">Whether to create the TTL index. The purge fixture goes without: MongoDB's TTL monitor would
    /// otherwise delete some of the expired documents first, and the purge could not count them.</param>
    public async Task CreateAsync(bool ttlIndex = true)
    {
        _ = MongoTestServer.ConnectionString; // ignores the fixture when no server is configured
        _name = $"sessions_test_{label}_{Guid.NewGuid():N}"; // at most 63 characters for the labels used here
        await using var backend = NewBackend();
        if (ttlIndex)
        {
            await backend.EnsureIndexesAsync(CancellationToken.None);
        }
        else
        {
            await backend.ProbeAsync(CancellationToken.None);
        }
    }

    public async Task DropAsync()
    {
        if (_name is not null && MongoTestServer.IsConfigured)
        {
            await MongoTestServer.Client.DropDatabaseAsync(_name);
        }
    }

    public MongoSessionBackend NewBackend(int batchSize = MongoSessionBackendOptions.DefaultBatchSize) =>
        new(MongoTestServer.Client, Options(batchSize));

    /// <summary>Stores under <paramref name="key"/> a document that is no session record: a string payload and nothing else.</summary>
    public Task WriteUnreadableAsync(string key, CancellationToken cancellationToken) =>
        MongoTestServer.Client.GetDatabase(Name).GetCollection<BsonDocument>(MongoSessionBackendOptions.DefaultCollection).ReplaceOneAsync(
            new BsonDocument("_id", key),
            new BsonDocument { { "_id", key }, { "payload", "not binary" } },
            new ReplaceOptions { IsUpsert = true },
            cancellationToken);
}
