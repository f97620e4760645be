using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests.Conformance;

/// <summary>The kit's checks of key enumeration, on one directory per fixture; each call makes a new instance on it, as separate app servers would.</summary>
public sealed class FileSystemSessionKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    private TestDirectory? _directory;

    [OneTimeSetUp]
    public void CreateDirectory() => _directory = new TestDirectory(GetType().Name);

    [OneTimeTearDown]
    public void DeleteDirectory() => _directory?.Dispose();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() =>
        new(new FileSystemSessionBackend(new FileSystemSessionBackendOptions { Directory = _directory!.Path }));

    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) =>
        new(new FileSystemSessionBackend(new FileSystemSessionBackendOptions { Directory = _directory!.Path }, timeProvider));
}
