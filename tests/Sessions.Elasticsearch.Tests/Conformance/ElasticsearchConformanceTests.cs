using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Elasticsearch.Tests.Support;

namespace Sessions.Elasticsearch.Tests.Conformance;

// The whole kit against the real node named by SESSIONS_TEST_ELASTICSEARCH_URL; ignored (not run) when it is not set. Each
// fixture has an index of its own, created with the backend's mapping and deleted afterwards, so that a purge sees only its
// own documents. Each CreateBackendAsync returns a new backend with a client of its own, as separate app servers would be.

[TestFixture]
public sealed class ElasticsearchBackendConformanceTests : SessionBackendConformanceTests
{
    private readonly FixtureIndex _index = new("backend");

    [OneTimeSetUp]
    public Task CreateIndexAsync() => _index.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteIndexAsync() => _index.DeleteAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_index.NewBackend());

    protected override async ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        await ElasticsearchTestServer.WriteKeyOnlyDocumentAsync(_index.Name, key, cancellationToken);

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
public sealed class ElasticsearchKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    private readonly FixtureIndex _index = new("keys");

    [OneTimeSetUp]
    public Task CreateIndexAsync() => _index.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteIndexAsync() => _index.DeleteAsync();

    // Small pages, so that the kit's 300-key listing crosses many search_after pages.
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_index.NewBackend(batchSize: 37));
}

[TestFixture]
public sealed class ElasticsearchExpiredSessionPurgerConformanceTests : ExpiredSessionPurgerConformanceTests
{
    private readonly FixtureIndex _index = new("purge");

    [OneTimeSetUp]
    public Task CreateIndexAsync() => _index.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteIndexAsync() => _index.DeleteAsync();

    // Scroll batches of 3, so that the purge's delete-by-query runs several batches.
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_index.NewBackend(batchSize: 3));
}

[TestFixture]
public sealed class ElasticsearchHealthProbeConformanceTests : SessionBackendHealthProbeConformanceTests
{
    private readonly FixtureIndex _index = new("probe");

    [OneTimeSetUp]
    public Task CreateIndexAsync() => _index.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteIndexAsync() => _index.DeleteAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_index.NewBackend());
}

/// <summary>
/// The behaviour table over HTTP with the backend registered as an app would (<c>AddElasticsearchBackend</c> with a URL, the
/// index created at start-up). The backend takes its clock from the app's <see cref="TimeProvider"/>, so the manual clock works.
/// </summary>
[TestFixture]
public sealed class ElasticsearchBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private readonly FixtureIndex _index = new("behaviour");

    [OneTimeSetUp]
    public Task CreateIndexAsync() => _index.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteIndexAsync() => _index.DeleteAsync();

    protected override void AddBackend(ISessionsBuilder builder)
    {
        var options = ElasticsearchTestServer.Options(_index.Name);
        builder.AddElasticsearchBackend(o =>
        {
            o.Url = options.Url;
            o.Index = options.Index;
            o.Username = options.Username;
            o.Password = options.Password;
            o.RequestTimeout = options.RequestTimeout;
        });
    }
}

[TestFixture]
public sealed class ElasticsearchConformanceCompletenessTests : ConformanceCompletenessTests
{
}

/// <summary>A fixture's own index on the node, and backends on it.</summary>
internal sealed class FixtureIndex(string label)
{
    private string? _name;

    public string Name => _name ?? throw new InvalidOperationException("The fixture's index is created in its one-time set-up.");

    public async Task CreateAsync()
    {
        var name = ElasticsearchTestServer.NewIndexName(label); // ignores the fixture when no node is configured
        await ElasticsearchTestServer.CreateIndexAsync(name);
        _name = name;
    }

    public Task DeleteAsync() => ElasticsearchTestServer.DeleteIndexAsync(_name);

    public ISessionBackend NewBackend(int batchSize = ElasticsearchSessionBackendOptions.DefaultBatchSize) =>
        new ElasticsearchSessionBackend(ElasticsearchTestServer.Options(Name, batchSize));
}
