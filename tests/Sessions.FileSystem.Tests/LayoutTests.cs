using System.Text.RegularExpressions;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>Where records land: two levels of shard folders, file names that are hashes, nothing outside the root.</summary>
public sealed partial class LayoutTests : FileSystemBackendTestBase
{
    [Test]
    public async Task A_record_is_stored_as_root_ab_cd_sha256_hex_dot_session()
    {
        var backend = NewBackend();
        const string key = "session:abc";

        await backend.SetAsync(key, Record("x", InAnHour), SetCondition.Always, default);

        var expected = ExpectedPath(backend, key);
        var lockFile = Path.Combine(Path.GetDirectoryName(expected)!, ".lock");
        Assert.That(AllFiles(backend.RootDirectory), Is.EquivalentTo(new[] { expected, lockFile }));
    }

    [Test]
    public async Task Records_spread_over_many_shard_folders_with_hash_names()
    {
        var backend = NewBackend();
        var keys = Enumerable.Range(0, 200).Select(i => $"session:spread-{i}").ToList();

        foreach (var key in keys)
        {
            await backend.SetAsync(key, Record(key, InAnHour), SetCondition.Always, default);
        }

        var records = Directory.GetFiles(backend.RootDirectory, "*.session", SearchOption.AllDirectories);
        var relative = records.Select(r => Path.GetRelativePath(backend.RootDirectory, r).Replace('\\', '/')).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(relative, Has.All.Match(ShardedName()), "every record is root/ab/cd/<64 hex>.session");
            Assert.That(relative.Select(r => r[6..^".session".Length]), Is.EquivalentTo(keys.Select(HashHex)), "file names are SHA-256(key)");
            Assert.That(relative.Select(r => r[..2]).Distinct().Count(), Is.GreaterThan(100), "200 keys should use well over 100 of the 256 first-level folders");
            Assert.That(relative.Select(r => r[..5]).Distinct().Count(), Is.GreaterThan(190), "and almost as many leaf folders as records");
        }
    }

    [TestCase("../../etc/passwd")]
    [TestCase("..")]
    [TestCase("/etc/passwd")]
    [TestCase(@"..\..\Windows\win.ini")]
    [TestCase("session:../../../../tmp/x")]
    [TestCase("~/.ssh/authorized_keys")]
    [TestCase("C:/x")]
    public async Task Keys_that_look_like_paths_stay_under_the_root(string key)
    {
        // The root sits alone in a sandbox folder, so anything written beside or above it would show up there.
        var sandbox = FixtureDirectory.NewSubdirectoryPath("sandbox");
        var root = Path.Combine(sandbox, "root");
        var backend = NewBackend(root: root);

        Assert.That(await backend.SetAsync(key, Record("contained", InAnHour), SetCondition.Always, default), Is.True);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Directory.GetFileSystemEntries(sandbox), Is.EqualTo(new[] { root }), "nothing is written beside the root");
            Assert.That(AllFiles(root), Has.Member(ExpectedPath(backend, key)));
            Assert.That(TextOf(await backend.GetAsync(key, default)), Is.EqualTo("contained"));
            Assert.That(await ToListAsync(backend.EnumerateKeysAsync("", default)), Is.EqualTo(new[] { key }), "the key is read back from the header");
        }
    }

    [Test]
    public async Task Files_that_are_not_records_are_ignored_by_enumeration_and_purge()
    {
        var backend = NewBackend();
        await backend.SetAsync("session:real", Record("x", InAnHour), SetCondition.Always, default);
        var shard = Path.GetDirectoryName(ExpectedPath(backend, "session:real"))!;
        var strangers = new[]
        {
            Path.Combine(backend.RootDirectory, "README.txt"),
            Path.Combine(backend.RootDirectory, "zz", "yy", "a.session"),
            Path.Combine(shard, "notes.session"),
            Path.Combine(shard, "notes.txt"),
        };
        foreach (var stranger in strangers)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(stranger)!);
            await File.WriteAllTextAsync(stranger, "not a session");
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await ToListAsync(backend.EnumerateKeysAsync("", default)), Is.EqualTo(new[] { "session:real" }));
            Assert.That(await backend.PurgeExpiredAsync(default), Is.Zero);
            Assert.That(strangers, Has.All.Exist);
        }
    }

    [GeneratedRegex("^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\\.session$")]
    private static partial Regex ShardedName();
}
