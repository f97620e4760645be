using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.FileSystem.Tests.Support;
using Sessions.Memory;
using Sessions.StoreMigration.Tests;

namespace Sessions.FileSystem.Tests.Migration;

/// <summary>
/// The behaviour table over HTTP on the migrating backend from the in-memory store to a directory. Both take the app's
/// clock from DI, so the timeout rows run on the kit's manual clock.
/// </summary>
[TestFixture]
public sealed class MemoryToFileSystemBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private TestDirectory? _directory;

    [OneTimeSetUp]
    public void CreateDirectory() => _directory = new TestDirectory(GetType().Name);

    [OneTimeTearDown]
    public void DeleteDirectory() => _directory?.Dispose();

    protected override void AddBackend(ISessionsBuilder builder)
    {
        var directory = _directory!.Path;
        builder.AddMemoryBackend().AddFileSystemBackend(o => o.Directory = directory).AddMigratingBackend("memory", "filesystem");
    }

    // Garbage planted in the new store, which reads try first.
    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableSessionFile.WriteAsync(_directory!.Path, key, cancellationToken);
}

/// <summary>Moving from one in-process memory store (shared by every app and instance of a test) to a directory.</summary>
[TestFixture]
public sealed class MemoryToFileSystemMigrationTests : MigrationScenarioTests
{
    private TestDirectory? _directory;
    private MemorySessionBackend _memory = null!;

    protected override string FromName => "memory";

    protected override string ToName => "filesystem";

    [OneTimeSetUp]
    public void CreateDirectory() => _directory = new TestDirectory(GetType().Name);

    [OneTimeTearDown]
    public void DeleteDirectory() => _directory?.Dispose();

    [SetUp]
    public void NewMemoryStore() => _memory = new MemorySessionBackend();

    protected override ValueTask<ISessionBackend> CreateFromAsync() => new(new SharedBackend(_memory));

    protected override ValueTask<ISessionBackend> CreateToAsync() =>
        new(new FileSystemSessionBackend(new FileSystemSessionBackendOptions { Directory = _directory!.Path }));

    protected override void AddFrom(ISessionsBuilder builder)
    {
        var memory = _memory;
        builder.UseBackend("memory", _ => new SharedBackend(memory));
    }

    protected override void AddTo(ISessionsBuilder builder)
    {
        var directory = _directory!.Path;
        builder.AddFileSystemBackend(o => o.Directory = directory);
    }
}
