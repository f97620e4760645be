using NUnit.Framework;
using Sessions.Engine;

namespace Sessions.Core.Tests.Engine;

/// <summary>Commits of one session queue on a per-session lock in the process; retries across instances back off with jitter (issue 14, fault 1).</summary>
public sealed class SessionStoreCommitLockTests : SessionStoreTestBase
{
    [Test]
    public async Task Concurrent_commits_of_one_session_setting_different_keys_all_save_without_running_out_of_retries()
    {
        var store = CreateStore(o => o.MaxConflictRetries = 1);
        var id = await CreateSessionAsync(store, ("n", Bytes("1")));
        var loaded = new List<SessionData>();
        for (var i = 0; i < 64; i++)
        {
            var session = await LoadRequiredAsync(store, id);
            session.Set($"k{i}", Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            loaded.Add(session);
        }

        var results = await Task.WhenAll(loaded.Select(s => Task.Run(async () => await store.CommitAsync(s, CancellationToken.None))));

        Assert.That(results.Select(r => r.Outcome), Has.All.EqualTo(SessionCommitOutcome.Saved));
        var final = await LoadRequiredAsync(store, id);
        Assert.That(final.Keys, Is.SupersetOf(Enumerable.Range(0, 64).Select(i => $"k{i}")));
        Assert.That(store.CommitLocks.Count, Is.Zero, "lock entries are removed when no commit uses them");
    }

    [Test]
    public async Task A_cancelled_wait_for_the_lock_leaves_no_entry_behind()
    {
        var locks = new KeyedAsyncLock();
        var held = await locks.AcquireAsync("a", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = locks.AcquireAsync("a", cancel.Token).AsTask();
        await cancel.CancelAsync();

        Assert.That(async () => await waiting, Throws.InstanceOf<OperationCanceledException>());
        held.Dispose();
        Assert.That(locks.Count, Is.Zero);
    }

    [Test]
    public async Task Waiters_for_one_key_get_it_one_at_a_time_and_other_keys_do_not_wait()
    {
        var locks = new KeyedAsyncLock();
        var first = await locks.AcquireAsync("a", CancellationToken.None);
        var second = locks.AcquireAsync("a", CancellationToken.None).AsTask();
        var other = locks.AcquireAsync("b", CancellationToken.None).AsTask();

        Assert.That(other.IsCompletedSuccessfully, Is.True, "another key is not held");
        Assert.That(second.IsCompleted, Is.False, "the same key waits");
        first.Dispose();
        (await second).Dispose();
        (await other).Dispose();
        Assert.That(locks.Count, Is.Zero);
    }

    [Test]
    public void The_backoff_between_retries_grows_is_jittered_and_is_capped()
    {
        var store = CreateStore(o =>
        {
            o.ConflictRetryDelay = TimeSpan.FromMilliseconds(2);
            o.MaxConflictRetryDelay = TimeSpan.FromMilliseconds(50);
        });

        var first = Enumerable.Range(0, 200).Select(_ => store.ConflictBackoff(1)).ToList();
        var third = Enumerable.Range(0, 200).Select(_ => store.ConflictBackoff(3)).ToList();
        var late = Enumerable.Range(0, 200).Select(_ => store.ConflictBackoff(30)).ToList();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Has.All.InRange(TimeSpan.FromMilliseconds(0.5), TimeSpan.FromMilliseconds(2)));
            Assert.That(third, Has.All.InRange(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(8)));
            Assert.That(late, Has.All.InRange(TimeSpan.FromMilliseconds(12.5), TimeSpan.FromMilliseconds(50)));
            Assert.That(late.Distinct().Count(), Is.GreaterThan(100), "jittered");
        }
    }
}
