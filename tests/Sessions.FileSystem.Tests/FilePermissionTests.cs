using System.Runtime.Versioning;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>Session files hold secrets: only the owner may read them.</summary>
[Platform(Exclude = "Win", Reason = "Unix file modes")]
[UnsupportedOSPlatform("windows")]
public sealed class FilePermissionTests : FileSystemBackendTestBase
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerReadWrite | UnixFileMode.UserExecute;

    [Test]
    public async Task Record_and_lock_files_are_0600_and_created_folders_0700()
    {
        var backend = NewBackend();
        const string key = "session:private";

        await backend.SetAsync(key, Record("secret", InAnHour), SetCondition.Always, default);
        await backend.TouchAsync(key, InAnHour.AddHours(1), default); // a rewrite creates the file anew

        var record = ExpectedPath(backend, key);
        var leaf = Path.GetDirectoryName(record)!;
        var first = Path.GetDirectoryName(leaf)!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(File.GetUnixFileMode(record), Is.EqualTo(OwnerReadWrite), "record file");
            Assert.That(File.GetUnixFileMode(Path.Combine(leaf, ".lock")), Is.EqualTo(OwnerReadWrite), "lock file");
            Assert.That(File.GetUnixFileMode(leaf), Is.EqualTo(OwnerOnlyDirectory), "leaf shard folder");
            Assert.That(File.GetUnixFileMode(first), Is.EqualTo(OwnerOnlyDirectory), "first-level shard folder");
            Assert.That(File.GetUnixFileMode(backend.RootDirectory), Is.EqualTo(OwnerOnlyDirectory), "root folder");
        }
    }
}
