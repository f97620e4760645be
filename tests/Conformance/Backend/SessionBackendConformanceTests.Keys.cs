using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Keys: any valid key is stored verbatim, distinct keys never collide, and prefixes isolate.
public abstract partial class SessionBackendConformanceTests
{
    /// <summary>A key of exactly <see cref="SessionKeys.MaxKeyLength"/> characters round-trips.</summary>
    [Test]
    public virtual async Task A_key_of_the_maximum_length_round_trips()
    {
        var backend = await NewBackendAsync();
        var key = NewKeyPrefix().PadRight(SessionKeys.MaxKeyLength, 'k');
        var record = NewRecord(LongTtl, version: 250);

        Assert.That(await backend.SetAsync(key, record, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) with a 250-character key");

        AssertRecord(await backend.GetAsync(key, Token), record, "a record under a 250-character key");
        Assert.That(await backend.RemoveAsync(key, 250, Token), Is.True, "RemoveAsync with a 250-character key");
    }

    /// <summary>Maximum-length keys that differ only in their last character are distinct (no truncation, no lossy hashing).</summary>
    [Test]
    public virtual async Task Maximum_length_keys_that_differ_only_in_the_last_character_do_not_collide()
    {
        var backend = await NewBackendAsync();
        var stem = NewKeyPrefix().PadRight(SessionKeys.MaxKeyLength - 1, 'k');
        var first = new SessionRecord(Payloads.Text("ends in a"), Now + LongTtl, 1);
        var second = new SessionRecord(Payloads.Text("ends in b"), Now + LongTtl, 2);

        Assert.That(await backend.SetAsync(stem + "a", first, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) of the key ending in 'a'");
        Assert.That(await backend.SetAsync(stem + "b", second, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) of the key ending in 'b' (it collided with the key ending in 'a')");

        AssertRecord(await backend.GetAsync(stem + "a", Token), first, "the key ending in 'a'");
        AssertRecord(await backend.GetAsync(stem + "b", Token), second, "the key ending in 'b'");
    }

    /// <summary>Keys that differ only in letter case are distinct (a case-insensitive file system or collation must not merge them).</summary>
    [Test]
    public virtual async Task Keys_that_differ_only_in_case_are_distinct()
    {
        var backend = await NewBackendAsync();
        var prefix = NewKeyPrefix();
        var lower = new SessionRecord(Payloads.Text("lower"), Now + LongTtl, 1);
        var upper = new SessionRecord(Payloads.Text("upper"), Now + LongTtl, 2);

        Assert.That(await backend.SetAsync(prefix + "session-abc", lower, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) of the lower-case key");
        Assert.That(await backend.SetAsync(prefix + "SESSION-ABC", upper, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) of the upper-case key (it collided with the lower-case one)");
        Assert.That(await backend.RemoveAsync(prefix + "Session-Abc", null, Token), Is.False, "RemoveAsync of a mixed-case key that was never written");

        AssertRecord(await backend.GetAsync(prefix + "session-abc", Token), lower, "the lower-case key");
        AssertRecord(await backend.GetAsync(prefix + "SESSION-ABC", Token), upper, "the upper-case key");
    }

    /// <summary>
    /// Keys that differ only by trailing characters are distinct: a key, the same key with one and with two <c>!</c> after
    /// it, and the same with <c>~</c>. A space is not a legal key character (<see cref="SessionKeys.IsValid"/> allows
    /// <c>!</c> to <c>~</c>), so the trailing-space case of a PAD SPACE collation (SQL Server's, MySQL's and MariaDB's
    /// defaults, where <c>'k' = 'k '</c>) cannot arise; <c>!</c> (0x21), the character right after the space, is its nearest
    /// legal analogue, and this catches stores that trim, pad to a fixed width (<c>CHAR(n)</c>) or compare only a prefix.
    /// </summary>
    [Test]
    public virtual async Task Keys_that_differ_only_by_trailing_characters_are_distinct()
    {
        var backend = await NewBackendAsync();
        var stem = NewKeyPrefix() + "k";
        string[] keys = [stem, stem + "!", stem + "!!", stem + "~"];
        var records = keys.Select((key, i) => new SessionRecord(Payloads.Text(key), Now + LongTtl, i + 1)).ToArray();

        for (var i = 0; i < keys.Length; i++)
        {
            Assert.That(await backend.SetAsync(keys[i], records[i], SetCondition.IfAbsent, Token), Is.True, $"SetAsync(IfAbsent) of \"{keys[i]}\" (it collided with a shorter or longer key)");
        }

        for (var i = 0; i < keys.Length; i++)
        {
            AssertRecord(await backend.GetAsync(keys[i], Token), records[i], $"the record under \"{keys[i]}\"");
        }

        Assert.That(await backend.RemoveAsync(stem + "!!!", null, Token), Is.False, "RemoveAsync of a longer key that was never written");
        Assert.That(await backend.RemoveAsync(stem, 1, Token), Is.True, "RemoveAsync of the shortest key");
        AssertRecord(await backend.GetAsync(stem + "!", Token), records[1], "the key with one trailing '!' after the shortest was removed");
    }

    /// <summary>
    /// Keys using any printable ASCII character, including path separators, dots, percent signs and wildcard characters,
    /// round-trip and stay distinct from each other (an escaping or file-name scheme must be injective).
    /// </summary>
    [Test]
    public virtual async Task Keys_with_any_printable_character_round_trip_and_stay_distinct()
    {
        var backend = await NewBackendAsync();
        var prefix = NewKeyPrefix();
        var suffixes = SpecialKeySuffixes();
        var records = suffixes.Select((suffix, i) => new SessionRecord(Payloads.Text(suffix), Now + LongTtl, i)).ToArray();

        var refused = new List<string>();
        for (var i = 0; i < suffixes.Length; i++)
        {
            if (!await backend.SetAsync(prefix + suffixes[i], records[i], SetCondition.IfAbsent, Token))
            {
                refused.Add(suffixes[i]);
            }
        }

        Assert.That(refused, Is.Empty, "key suffixes whose SetAsync(IfAbsent) found a record already there (a collision with an earlier key)");
        var wrong = new List<string>();
        for (var i = 0; i < suffixes.Length; i++)
        {
            var stored = await backend.GetAsync(prefix + suffixes[i], Token);
            if (stored is null || stored.Version != i || Payloads.Difference(stored.Payload, records[i].Payload) is not null)
            {
                wrong.Add($"\"{suffixes[i]}\": {(stored is null ? "missing" : $"holds version {stored.Version}")}");
            }
        }

        Assert.That(wrong, Is.Empty, "key suffixes that did not read back their own record");
    }

    /// <summary>
    /// A record under one key prefix is invisible under another prefix with the same suffix: it can be neither read, removed,
    /// touched nor matched there. Checked across two backend instances, which must share one store.
    /// </summary>
    [Test]
    public virtual async Task Records_under_one_prefix_are_invisible_under_another()
    {
        var first = await NewBackendAsync();
        var second = await NewBackendAsync();
        var suffix = NewKey();
        var keyA = "a:" + suffix;
        var keyB = "b:" + suffix;
        var recordA = NewRecord(LongTtl, version: 1, label: "under a:");
        var recordB = NewRecord(LongTtl, version: 2, label: "under b:");
        await first.SetAsync(keyA, recordA, SetCondition.Always, Token);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await second.GetAsync(keyB, Token), Is.Null, "GetAsync under b: of a record stored under a:");
            Assert.That(await second.RemoveAsync(keyB, null, Token), Is.False, "RemoveAsync under b:");
            Assert.That(await second.TouchAsync(keyB, Now + LongTtl, Token), Is.False, "TouchAsync under b:");
            Assert.That(await second.SetAsync(keyB, recordB, SetCondition.IfVersion(1), Token), Is.False, "SetAsync(IfVersion(1)) under b:");
        }

        Assert.That(await second.SetAsync(keyB, recordB, SetCondition.IfAbsent, Token), Is.True, "SetAsync(IfAbsent) under b: while a: holds a record");
        AssertRecord(await second.GetAsync(keyA, Token), recordA, "the a: record, read through the second instance");
        AssertRecord(await first.GetAsync(keyB, Token), recordB, "the b: record, read through the first instance");
        Assert.That(await first.RemoveAsync(keyB, null, Token), Is.True, "RemoveAsync under b:");
        AssertRecord(await second.GetAsync(keyA, Token), recordA, "the a: record after the b: record was removed");
    }

    /// <summary>
    /// Two instances from <see cref="BackendConformanceFixture.CreateBackendAsync()"/> see one store, as two app servers do:
    /// what one writes, touches or removes, the other sees at once, and their conditional writes check each other's versions.
    /// </summary>
    [Test]
    public virtual async Task Two_backend_instances_see_the_same_store()
    {
        var first = await NewBackendAsync();
        var second = await NewBackendAsync();
        var key = NewKey();
        var original = NewRecord(LongTtl, version: 1, label: "written by the first");
        var update = NewRecord(LongTtl, version: 2, label: "written by the second");

        await first.SetAsync(key, original, SetCondition.Always, Token);
        AssertRecord(await second.GetAsync(key, Token), original, "the second instance reading the first's write");
        Assert.That(await second.SetAsync(key, NewRecord(LongTtl), SetCondition.IfAbsent, Token), Is.False, "SetAsync(IfAbsent) through the second instance over the first's record");
        Assert.That(await second.SetAsync(key, update, SetCondition.IfVersion(1), Token), Is.True, "SetAsync(IfVersion(1)) through the second instance");
        AssertRecord(await first.GetAsync(key, Token), update, "the first instance reading the second's write");
        Assert.That(await first.TouchAsync(key, update.ExpiresAt + LongTtl, Token), Is.True, "TouchAsync through the first instance");
        AssertRecord(await second.GetAsync(key, Token), update with { ExpiresAt = update.ExpiresAt + LongTtl }, "the second instance reading the first's touch");
        Assert.That(await first.RemoveAsync(key, 2, Token), Is.True, "RemoveAsync(2) through the first instance");
        Assert.That(await second.GetAsync(key, Token), Is.Null, "the second instance reading after the first removed the record");
    }

    // "a" + c + "b" for every printable non-alphanumeric character, the whole printable range in one key, and keys that
    // look like paths, escapes or reserved names.
    private static string[] SpecialKeySuffixes()
    {
        var punctuation = Enumerable.Range('!', '~' - '!' + 1).Select(c => (char)c).Where(c => !char.IsAsciiLetterOrDigit(c));
        return
        [
            .. punctuation.Select(c => $"a{c}b"),
            new string([.. Enumerable.Range('!', '~' - '!' + 1).Select(c => (char)c)]),
            "ab", "AB", "a__b", "a%2Fb", "a%2fb", "a%5Cb", "a%25b", "a~2Fb", "a//b", "a/./b", "a/../b", "../../x", "..", ".", "x.", "x..",
            "/con", "/NUL", "/aux.txt", "-", "--", "a-", "a.",
        ];
    }
}
