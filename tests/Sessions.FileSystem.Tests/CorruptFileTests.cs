using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>
/// A file that cannot be decoded (truncated by a crash, garbled, misplaced) is reported by GetAsync as a corrupt record
/// (<see cref="SessionRecordCorruptException"/>: the core logs and counts it), never a silent miss or an I/O error; every
/// other operation treats it as absent.
/// </summary>
public sealed class CorruptFileTests : FileSystemBackendTestBase
{
    private const string Key = "session:damaged";

    public static IEnumerable<TestCaseData> Damage()
    {
        yield return Case("empty", _ => []);
        yield return Case("truncated header", b => b[..10]);
        yield return Case("truncated payload", b => b[..^3]);
        yield return Case("trailing bytes", b => [.. b, 1, 2, 3]);
        yield return Case("bad magic", b => { b[0] ^= 0xFF; return b; });
        // Offsets of file format 2: key length at 5, payload length at 6 (big-endian), key at 10 (see SessionFile).
        yield return Case("impossible key length", b => { b[5] = 0xFF; return b; });
        yield return Case("payload length past the end", b => { b[6] = 0x7F; return b; });
        yield return Case("key byte not printable", b => { b[10] = 0x01; return b; });
        yield return Case("garbage", b => Enumerable.Range(0, b.Length).Select(i => (byte)(i * 37)).ToArray());

        static TestCaseData Case(string name, Func<byte[], byte[]> damage) => new TestCaseData(damage).SetArgDisplayNames(name);
    }

    [TestCaseSource(nameof(Damage))]
    public async Task A_damaged_file_is_reported_as_corrupt_and_is_replaced_and_purged(Func<byte[], byte[]> damage)
    {
        var backend = NewBackend();
        await backend.SetAsync(Key, Record("payload", InAnHour), SetCondition.Always, default);
        var path = ExpectedPath(backend, Key);
        await File.WriteAllBytesAsync(path, damage(await File.ReadAllBytesAsync(path)));

        using (Assert.EnterMultipleScope())
        {
            Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await backend.GetAsync(Key, default), "GetAsync");
            Assert.That(await ToListAsync(backend.EnumerateKeysAsync("", default)), Is.Empty, "EnumerateKeysAsync");
            Assert.That(await backend.TouchAsync(Key, InAnHour, default), Is.False, "TouchAsync");
            Assert.That(await backend.SetAsync(Key, Record("v", InAnHour, 2), SetCondition.IfVersion(1), default), Is.False, "SetAsync(IfVersion)");
            Assert.That(await backend.PurgeExpiredAsync(default), Is.EqualTo(1), "PurgeExpiredAsync deletes the damaged file");
            Assert.That(File.Exists(path), Is.False);
            Assert.That(await backend.SetAsync(Key, Record("fresh", InAnHour), SetCondition.IfAbsent, default), Is.True, "SetAsync(IfAbsent) afterwards");
        }
    }

    [Test]
    public async Task A_damaged_file_counts_as_absent_for_IfAbsent()
    {
        var backend = NewBackend();
        await backend.SetAsync(Key, Record("payload", InAnHour), SetCondition.Always, default);
        var path = ExpectedPath(backend, Key);
        await File.WriteAllBytesAsync(path, (await File.ReadAllBytesAsync(path))[..20]);

        Assert.That(await backend.SetAsync(Key, Record("fresh", InAnHour), SetCondition.IfAbsent, default), Is.True);
        Assert.That(TextOf(await backend.GetAsync(Key, default)), Is.EqualTo("fresh"));
    }

    [Test]
    public async Task Another_keys_file_in_this_keys_place_is_reported_as_corrupt()
    {
        var backend = NewBackend();
        await backend.SetAsync("session:a", Record("a's data", InAnHour), SetCondition.Always, default);
        var target = ExpectedPath(backend, "session:b");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(ExpectedPath(backend, "session:a"), target);

        using (Assert.EnterMultipleScope())
        {
            Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await backend.GetAsync("session:b", default));
            Assert.That(await ToListAsync(backend.EnumerateKeysAsync("", default)), Is.EqualTo(new[] { "session:a" }), "each key at most once, from its own file");
        }
    }

    [Test]
    public async Task A_file_of_an_unknown_newer_format_is_reported_as_corrupt_but_is_not_purged()
    {
        var backend = NewBackend();
        await backend.SetAsync(Key, Record("payload", InAnHour), SetCondition.Always, default);
        var path = ExpectedPath(backend, Key);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[4] = 99; // format version
        await File.WriteAllBytesAsync(path, bytes);

        using (Assert.EnterMultipleScope())
        {
            Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await backend.GetAsync(Key, default));
            Assert.That(await backend.PurgeExpiredAsync(default), Is.Zero);
            Assert.That(File.Exists(path), "left for the version of the package that wrote it");
        }
    }
}
