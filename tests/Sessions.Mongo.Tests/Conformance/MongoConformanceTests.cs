using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Mongo.Tests.Support;

namespace Sessions.Mongo.Tests.Conformance;

// The whole kit against the real server named by SESSIONS_TEST_MONGODB_URI; ignored (not run) when it is not set. Each
// fixture has a database of its own (so a purge sees only its own documents), with the TTL index created the opt-in way
// (except for the purge fixture, whose counts the TTL monitor would disturb).
// Each CreateBackendAsync returns a new backend on the shared client, as separate app servers would be on one collection.

[TestFixture]
public sealed class MongoBackendConformanceTests : SessionBackendConformanceTests
{
    private readonly FixtureDatabase _database = new("backend");

    [OneTimeSetUp]
    public Task CreateDatabaseAsync() => _database.CreateAsync();

    [OneTimeTearDown]
    public Task DropDatabaseAsync() => _database.DropAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_database.NewBackend());

    protected override async ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        await _database.WriteUnreadableAsync(key, cancellationToken);

    /// <summary>What the store holds under a key but is no session record reads as corrupt, never as an outage.</summary>
    [Test]
    public async Task A_document_that_is_no_session_record_reads_as_corrupt()
    {
        var key = $"kit:{Guid.NewGuid():N}:unreadable";
        var backend = await CreateBackendAsync();
        try
        {
            await WriteUnreadableRecordAsync(key, CancellationToken.None);

            var e = Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await backend.GetAsync(key, CancellationToken.None));
            Assert.That(e!.Key, Is.EqualTo(key));
            Assert.That(await backend.SetAsync(key, new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.IfAbsent, CancellationToken.None), Is.False, "IfAbsent never overwrites what it cannot read");
            Assert.That(await backend.SetAsync(key, new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, CancellationToken.None), Is.True, "Always replaces it");
            Assert.That(await backend.GetAsync(key, CancellationToken.None), Is.Not.Null);
        }
        finally
        {
            await ((IAsyncDisposable)backend).DisposeAsync();
        }
    }
}

[TestFixture]
public sealed class MongoKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    private readonly FixtureDatabase _database = new("keys");

    [OneTimeSetUp]
    public Task CreateDatabaseAsync() => _database.CreateAsync();

    [OneTimeTearDown]
    public Task DropDatabaseAsync() => _database.DropAsync();

    // Small batches, so that the kit's 300-key listing crosses many pages.
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_database.NewBackend(batchSize: 37));
}

[TestFixture]
public sealed class MongoExpiredSessionPurgerConformanceTests : ExpiredSessionPurgerConformanceTests
{
    private readonly FixtureDatabase _database = new("purge");

    [OneTimeSetUp]
    public Task CreateDatabaseAsync() => _database.CreateAsync(ttlIndex: false);

    [OneTimeTearDown]
    public Task DropDatabaseAsync() => _database.DropAsync();

    // Batches of 3, so that a purge runs several find-then-delete rounds.
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_database.NewBackend(batchSize: 3));
}

[TestFixture]
public sealed class MongoHealthProbeConformanceTests : SessionBackendHealthProbeConformanceTests
{
    private readonly FixtureDatabase _database = new("probe");

    [OneTimeSetUp]
    public Task CreateDatabaseAsync() => _database.CreateAsync();

    [OneTimeTearDown]
    public Task DropDatabaseAsync() => _database.DropAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_database.NewBackend());
}

/// <summary>
/// The behaviour table over HTTP with the backend registered as an app would (<c>AddMongoBackend</c> with a connection string,
/// so each app builds and disposes its own client). The backend takes its clock from the app's <see cref="TimeProvider"/>, so
/// the kit's manual clock works (MongoDB's TTL monitor would only delete documents later, never earlier, than that clock).
/// </summary>
[TestFixture]
public sealed class MongoBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private readonly FixtureDatabase _database = new("behaviour");

    [OneTimeSetUp]
    public Task CreateDatabaseAsync() => _database.CreateAsync();

    [OneTimeTearDown]
    public Task DropDatabaseAsync() => _database.DropAsync();

    protected override void AddBackend(ISessionsBuilder builder)
    {
        var options = _database.Options();
        builder.AddMongoBackend(o =>
        {
            o.ConnectionString = options.ConnectionString;
            o.Database = options.Database;
        });
    }
}

[TestFixture]
public sealed class MongoConformanceCompletenessTests : ConformanceCompletenessTests
{
}
