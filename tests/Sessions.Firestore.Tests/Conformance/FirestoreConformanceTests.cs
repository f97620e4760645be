using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Firestore.Protocol;
using Sessions.Firestore.Tests.Support;

namespace Sessions.Firestore.Tests.Conformance;

// The conformance kit against Google's Cloud Firestore emulator. Each fixture has a project of its own on the shared
// emulator (so a purge or a listing sees only its own documents); each CreateBackendAsync returns a new backend with a
// channel of its own, as separate app servers would be.

[TestFixture]
public sealed class FirestoreBackendConformanceTests : SessionBackendConformanceTests
{
    private readonly FirestoreFixtureProject _project = new("conformance");

    protected override TimeSpan ExpiryResolution => FirestoreFixtureProject.Resolution;

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => _project.NewBackendAsync();

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => _project.NewBackendAsync(timeProvider: timeProvider);

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) => _project.WriteUnreadableAsync(key, cancellationToken);

    public override Task A_one_mebibyte_payload_round_trips()
    {
        Assert.Ignore("A Firestore document holds at most 1 MiB including its name and fields, so a 1 MiB payload cannot be one document; the backend states its limit (ISessionBackendLimits) and refuses more with a FirestoreSessionException (see DocumentTests).");
        return Task.CompletedTask;
    }
}

[TestFixture]
public sealed class FirestoreKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    private readonly FirestoreFixtureProject _project = new("keys");

    protected override TimeSpan ExpiryResolution => FirestoreFixtureProject.Resolution;

    // Small pages, so that the kit's 300-key listing crosses many.
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => _project.NewBackendAsync(pageSize: 37);

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) => _project.WriteUnreadableAsync(key, cancellationToken);
}

[TestFixture]
public sealed class FirestoreExpiredSessionPurgerConformanceTests : ExpiredSessionPurgerConformanceTests
{
    private readonly FirestoreFixtureProject _project = new("purge");

    protected override TimeSpan ExpiryResolution => FirestoreFixtureProject.Resolution;

    // Small pages, so that a purge deletes in several batches.
    protected override ValueTask<ISessionBackend> CreateBackendAsync() => _project.NewBackendAsync(pageSize: 2);

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => _project.NewBackendAsync(pageSize: 2, timeProvider);

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) => _project.WriteUnreadableAsync(key, cancellationToken);
}

/// <summary>
/// The kit's behaviour table over HTTP, with the backend registered as an application would (<c>AddFirestoreBackend</c>),
/// each app with its own channel. The backend decides expiry with the app's <see cref="TimeProvider"/>, so the kit's manual
/// clock works.
/// </summary>
[TestFixture]
public sealed class FirestoreBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private readonly string _projectId = FirestoreEmulator.NewProjectId("behaviour");
    private string? _host;

    protected override TimeSpan ExpiryResolution => FirestoreFixtureProject.Resolution;

    [OneTimeSetUp]
    public async Task StartEmulatorAsync() => _host = await FirestoreEmulator.HostAsync();

    protected override void AddBackend(ISessionsBuilder builder) => builder.AddFirestoreBackend(o =>
    {
        o.ProjectId = _projectId;
        o.EmulatorHost = _host;
        o.CallTimeout = TimeSpan.FromSeconds(10);
    });
}

[TestFixture]
public sealed class FirestoreHealthProbeConformanceTests : SessionBackendHealthProbeConformanceTests
{
    private readonly FirestoreFixtureProject _project = new("probe");

    protected override TimeSpan ExpiryResolution => FirestoreFixtureProject.Resolution;

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => _project.NewBackendAsync();

    // An emulator address nothing listens on, with a short deadline: the probe must fail, with the address in its message.
    protected override ValueTask<ISessionBackend> CreateUnreachableBackendAsync() => new(new FirestoreSessionBackend(new FirestoreSessionBackendOptions
    {
        ProjectId = _project.ProjectId,
        EmulatorHost = $"127.0.0.1:{ServerProcess.FreeLoopbackPort()}",
        CallTimeout = TimeSpan.FromSeconds(2),
    }));
}

[TestFixture]
public sealed class FirestoreConformanceCompletenessTests : ConformanceCompletenessTests
{
}

/// <summary>A fixture's own project on the shared emulator, and backends on it.</summary>
internal sealed class FirestoreFixtureProject(string label)
{
    /// <summary>Firestore keeps timestamps to the microsecond and the backend checks expiry itself; the margin is for the emulator's round trips.</summary>
    public static readonly TimeSpan Resolution = TimeSpan.FromMilliseconds(200);

    public string ProjectId { get; } = FirestoreEmulator.NewProjectId(label);

    /// <param name="pageSize">Documents per query page: small, so that listings and purges cross pages.</param>
    /// <param name="timeProvider">The app clock the backend judges expiry by; <see langword="null"/> for the system clock.</param>
    public async ValueTask<ISessionBackend> NewBackendAsync(int pageSize = 300, TimeProvider? timeProvider = null) =>
        new FirestoreSessionBackend(await FirestoreEmulator.OptionsAsync(ProjectId), timeProvider) { PageSize = pageSize };

    /// <summary>Writes a document under the key's name whose payload is a string, not bytes: something the backend cannot read.</summary>
    public async ValueTask WriteUnreadableAsync(string key, CancellationToken cancellationToken)
    {
        await using var backend = new FirestoreSessionBackend(await FirestoreEmulator.OptionsAsync(ProjectId));
        var document = new Document { Name = backend.DocumentName(key) };
        document.Fields.Add("payload", new Value { StringValue = "not bytes" });
        await backend.Client.CommitAsync(new CommitRequest { Database = backend.Database, Writes = { new Write { Update = document } } }, cancellationToken: cancellationToken);
    }
}
