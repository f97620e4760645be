using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.DynamoDb.Tests.Support;

namespace Sessions.DynamoDb.Tests.Conformance;

/// <summary>
/// The kit's behaviour table over HTTP, with the backend registered as an application would: <c>AddDynamoDbBackend</c>
/// with a service URL, so each app builds (and disposes) its own SDK client. The backend takes its clock from the app's
/// <see cref="TimeProvider"/> (every expiry decision is made with that clock's <c>:now</c>), so the kit's manual clock works.
/// </summary>
[TestFixture]
public sealed class DynamoDbBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private readonly DynamoDbFixtureTable _table = new("behaviour");
    private string? _serviceUrl;

    protected override TimeSpan ExpiryResolution => TimeSpan.FromSeconds(1);

    [OneTimeSetUp]
    public async Task CreateTableAsync()
    {
        await _table.CreateAsync();
        _serviceUrl = await Dynalite.ServiceUrlAsync();
    }

    [OneTimeTearDown]
    public Task DeleteTableAsync() => _table.DeleteAsync();

    protected override void AddBackend(ISessionsBuilder builder) => builder.AddDynamoDbBackend(o =>
    {
        o.ServiceUrl = _serviceUrl;
        o.Table = _table.Name;
    });

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        _table.WriteUnreadableRecordAsync(key, cancellationToken);
}
