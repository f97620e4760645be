using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

/// <summary>
/// The <see cref="ISessionKeyEnumerator"/> capability: lists exactly the live keys under a prefix. Subclass it only for a
/// backend that implements the interface (excuse it in <see cref="ConformanceCompletenessTests.ExcusedFixtures"/> otherwise).
/// </summary>
/// <remarks>The store may be shared with other tests, so each test checks only keys under its own fresh prefix.</remarks>
[ConformanceFixture]
public abstract partial class SessionKeyEnumeratorConformanceTests : BackendConformanceFixture
{
    /// <summary>Every live key under the prefix is listed exactly once, maximum-length keys and 300 keys (several pages, for paging stores) included.</summary>
    [Test]
    public virtual async Task Enumeration_lists_every_live_key_under_the_prefix_once()
    {
        var backend = await NewBackendAsync();
        var prefix = NewKeyPrefix();
        var keys = Enumerable.Range(0, 300).Select(i => $"{prefix}{i}").Append(prefix.PadRight(SessionKeys.MaxKeyLength, 'k')).ToList();
        await WriteAllAsync(backend, keys);

        var listed = await ListAsync(backend, prefix);

        Assert.That(listed, Is.EquivalentTo(keys), "the keys listed under the prefix, compared with the keys written (duplicates count)");
    }

    /// <summary>Keys under other prefixes are not listed, including keys that share all but the last character of the prefix.</summary>
    [Test]
    public virtual async Task Enumeration_excludes_keys_under_other_prefixes()
    {
        var backend = await NewBackendAsync();
        var root = NewKeyPrefix();
        var prefix = root + "in:";
        string[] inside = [prefix + "1", prefix + "2"];
        string[] outside = [root + "out:1", root + "in", root + "in;1", root + "IN:1", NewKeyPrefix() + "in:1"];
        await WriteAllAsync(backend, [.. inside, .. outside]);

        Assert.That(await ListAsync(backend, prefix), Is.EquivalentTo(inside), $"the keys listed under \"{prefix}\"");
    }

    /// <summary>Removed keys are not listed.</summary>
    [Test]
    public virtual async Task Enumeration_excludes_removed_keys()
    {
        var backend = await NewBackendAsync();
        var prefix = NewKeyPrefix();
        await WriteAllAsync(backend, [prefix + "kept", prefix + "removed", prefix + "removed-with-version"]);
        await backend.RemoveAsync(prefix + "removed", null, Token);
        await backend.RemoveAsync(prefix + "removed-with-version", 1, Token);

        Assert.That(await ListAsync(backend, prefix), Is.EquivalentTo(new[] { prefix + "kept" }), "the keys listed after two of three were removed");
    }

    /// <summary>Expired keys are not listed, whether they expired while stored or were written already expired.</summary>
    [Test]
    public virtual async Task Enumeration_excludes_expired_keys()
    {
        var backend = await NewBackendAsync();
        var prefix = NewKeyPrefix();
        var expiring = NewRecord(ShortTtl);
        await WriteAllAsync(backend, [prefix + "live"]);
        await backend.SetAsync(prefix + "written-expired", NewRecord(TimeSpan.FromMinutes(-1)), SetCondition.Always, Token);
        await backend.SetAsync(prefix + "expiring", expiring, SetCondition.Always, Token);
        await WaitUntilExpiredAsync(backend, prefix + "expiring", expiring.ExpiresAt);

        Assert.That(await ListAsync(backend, prefix), Is.EquivalentTo(new[] { prefix + "live" }), "the keys listed after two of three expired");
    }

    /// <summary>The empty prefix lists every live key in the store, this test's among them.</summary>
    [Test]
    public virtual async Task Enumeration_with_an_empty_prefix_includes_every_live_key()
    {
        var backend = await NewBackendAsync();
        var prefix = NewKeyPrefix();
        string[] keys = [prefix + "1", prefix + "2", prefix + "3"];
        await WriteAllAsync(backend, keys);
        await backend.RemoveAsync(prefix + "3", null, Token);

        var ours = (await ListAsync(backend, string.Empty)).Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();

        Assert.That(ours, Is.EquivalentTo(keys[..2]), "this test's keys among those listed under the empty prefix");
    }

    /// <summary>A prefix nothing was written under lists nothing.</summary>
    [Test]
    public virtual async Task Enumeration_of_an_unused_prefix_is_empty()
    {
        var backend = await NewBackendAsync();
        var used = NewKeyPrefix();
        await WriteAllAsync(backend, [used + "1"]);

        Assert.That(await ListAsync(backend, NewKeyPrefix()), Is.Empty);
    }

    /// <summary>Prefix matching is ordinal: case matters.</summary>
    [Test]
    public virtual async Task Prefix_matching_is_case_sensitive()
    {
        var backend = await NewBackendAsync();
        var root = NewKeyPrefix();
        await WriteAllAsync(backend, [root + "user:1", root + "USER:2", root + "User:3"]);

        Assert.That(await ListAsync(backend, root + "user:"), Is.EquivalentTo(new[] { root + "user:1" }));
    }

    /// <summary>
    /// Characters that are special in glob patterns (Redis <c>MATCH</c>), SQL <c>LIKE</c> or regular expressions are
    /// matched literally, and keys come back verbatim.
    /// </summary>
    [Test]
    public virtual async Task Prefix_characters_are_matched_literally()
    {
        var backend = await NewBackendAsync();
        var root = NewKeyPrefix();
        const string special = @"*?[]%_\.^$+(|){}";

        // A decoy under each prefix's plain twin ("pQ" for "p*"), which any pattern-based match would also accept.
        string[] decoys = [root + "pQ1", root + "x1", root + "zz"];
        var insideByPrefix = special.Select(c => root + "p" + c).Append(root + "[x]").ToDictionary(p => p, p => p + "1");
        await WriteAllAsync(backend, [.. insideByPrefix.Values, .. decoys]);

        using (Assert.EnterMultipleScope())
        {
            foreach (var (prefix, inside) in insideByPrefix)
            {
                Assert.That(await ListAsync(backend, prefix), Is.EquivalentTo(new[] { inside }), $"the keys listed under \"{prefix}\"");
            }
        }
    }

    /// <summary>Enumerating with an already-cancelled token throws <see cref="OperationCanceledException"/>.</summary>
    [Test]
    public virtual async Task Enumeration_with_a_cancelled_token_throws()
    {
        var backend = await NewBackendAsync();
        var enumerator = AsEnumerator(backend);
        var prefix = NewKeyPrefix();
        await WriteAllAsync(backend, [prefix + "1", prefix + "2"]);

        await Assert.ThatAsync(
            async () =>
            {
                await foreach (var _ in enumerator.EnumerateKeysAsync(prefix, new CancellationToken(canceled: true)))
                {
                }
            },
            Throws.InstanceOf<OperationCanceledException>());
    }

    private ISessionKeyEnumerator AsEnumerator(ISessionBackend backend)
    {
        if (backend is ISessionKeyEnumerator enumerator)
        {
            return enumerator;
        }

        Assert.Fail(
            $"{backend.GetType().Name} does not implement ISessionKeyEnumerator, yet {GetType().Name} subclasses SessionKeyEnumeratorConformanceTests. " +
            "Subclass it only for a backend that lists keys; otherwise excuse it in ConformanceCompletenessTests.ExcusedFixtures.");
        throw new UnreachableException();
    }

    private async Task<List<string>> ListAsync(ISessionBackend backend, string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in AsEnumerator(backend).EnumerateKeysAsync(prefix, Token))
        {
            keys.Add(key);
        }

        return keys;
    }

    private async Task WriteAllAsync(ISessionBackend backend, IReadOnlyCollection<string> keys)
    {
        AsEnumerator(backend);
        var refused = new ConcurrentBag<string>();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Token };
        await Parallel.ForEachAsync(keys, parallel, async (key, ct) =>
        {
            if (!await backend.SetAsync(key, NewRecord(LongTtl), SetCondition.IfAbsent, ct))
            {
                refused.Add(key);
            }
        });
        Assert.That(refused, Is.Empty, "fresh keys whose SetAsync(IfAbsent) returned false");
    }
}
