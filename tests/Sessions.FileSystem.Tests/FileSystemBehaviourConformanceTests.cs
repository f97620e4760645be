using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>
/// The behaviour table over HTTP with the file-system backend, all apps of the fixture on one directory. The backend takes
/// its clock from DI (see AddFileSystemBackend), so the timeouts run on the kit's manual clock.
/// </summary>
[TestFixture]
public sealed class FileSystemBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    private TestDirectory? _directory;

    [OneTimeSetUp]
    public void CreateDirectory() => _directory = new TestDirectory(GetType().Name);

    [OneTimeTearDown]
    public void DeleteDirectory() => _directory?.Dispose();

    protected override void AddBackend(ISessionsBuilder builder)
    {
        var directory = _directory!.Path;
        builder.AddFileSystemBackend(o => o.Directory = directory);
    }

    protected override ValueTask WriteUnreadableRecordAsync(string key, CancellationToken cancellationToken) =>
        UnreadableSessionFile.WriteAsync(_directory!.Path, key, cancellationToken);
}
