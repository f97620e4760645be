using System.Collections.Concurrent;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// A defect an earlier kit let through (issue 15): an enumeration that skips or repeats keys when other keys change between
// its pages (offset paging, or paging by an order the changes move, such as expiry or write time).
public abstract partial class SessionKeyEnumeratorConformanceTests
{
    /// <summary>
    /// While an enumeration of 600 keys is paused after its first 150, 60 of the keys already listed are removed, 40 are
    /// rewritten and 40 touched, and 100 new keys are written between the existing ones. Then: no key is listed twice,
    /// and every key that was live and unchanged throughout is listed exactly once.
    /// </summary>
    [Test]
    public virtual async Task Keys_changing_during_an_enumeration_neither_skip_nor_repeat_the_others()
    {
        const int total = 600;
        const int pauseAfter = 150;
        var backend = await NewBackendAsync();
        var enumerator = AsEnumerator(backend);
        var prefix = NewKeyPrefix();
        var keys = Enumerable.Range(0, total).Select(i => $"{prefix}{i:D4}").ToList();
        await WriteAllAsync(backend, keys);

        var listed = new List<string>();
        var changed = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in enumerator.EnumerateKeysAsync(prefix, Token))
        {
            listed.Add(key);
            if (listed.Count == pauseAfter)
            {
                changed.UnionWith(await ChangeBehindTheCursorAsync(backend, prefix, [.. listed]));
            }
        }

        Assert.That(listed, Has.Count.GreaterThanOrEqualTo(pauseAfter), "setting up: the enumeration must reach the pause");
        var repeated = listed.GroupBy(k => k, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var unchanged = keys.Where(k => !changed.Contains(k)).ToList();
        var skipped = unchanged.Except(listed, StringComparer.Ordinal).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(repeated, Is.Empty, $"keys listed more than once ({repeated.Count}) while other keys changed between pages");
            Assert.That(skipped, Is.Empty, $"live, unchanged keys never listed ({skipped.Count} of {unchanged.Count}) because other keys changed between pages");
        }
    }

    /// <summary>Removes, rewrites and touches keys already listed and writes new ones among them; returns every key it changed.</summary>
    private async Task<List<string>> ChangeBehindTheCursorAsync(ISessionBackend backend, string prefix, string[] seen)
    {
        var changed = new ConcurrentBag<string>();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Token };
        var rewriteTo = NewRecord(2 * LongTtl, version: 2);
        var touchTo = Now + (3 * LongTtl);
        await Parallel.ForEachAsync(Enumerable.Range(0, 140), parallel, async (i, ct) =>
        {
            var key = seen[i];
            changed.Add(key);
            _ = i switch
            {
                < 60 => await backend.RemoveAsync(key, null, ct),
                < 100 => await backend.SetAsync(key, rewriteTo, SetCondition.Always, ct),
                _ => await backend.TouchAsync(key, touchTo, ct),
            };
        });

        // New keys that sort between existing ones ("0042" < "0042+" < "0043"), spread over the whole range.
        await Parallel.ForEachAsync(Enumerable.Range(0, 100), parallel, async (i, ct) =>
        {
            var key = $"{prefix}{i * 6:D4}+";
            changed.Add(key);
            await backend.SetAsync(key, NewRecord(LongTtl), SetCondition.Always, ct);
        });

        return [.. changed];
    }
}
