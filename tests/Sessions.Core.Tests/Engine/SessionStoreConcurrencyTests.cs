using NUnit.Framework;
using Sessions.Engine;

namespace Sessions.Core.Tests.Engine;

public sealed class SessionStoreConcurrencyTests : SessionStoreTestBase
{
    [Test]
    public async Task Merge_keeps_both_requests_changes_to_different_keys()
    {
        var store = CreateStore(o => o.ConcurrencyMode = ConcurrencyMode.Merge);
        var id = await CreateSessionAsync(store, ("a", [0]), ("b", [0]), ("gone", [9]));
        var first = await LoadRequiredAsync(store, id);
        var second = await LoadRequiredAsync(store, id);

        first.Set("a", [1]);
        second.Set("b", [2]);
        second.Remove("gone");
        Assert.That((await store.CommitAsync(first, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Saved));
        Assert.That((await store.CommitAsync(second, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Saved));

        var merged = await LoadRequiredAsync(store, id);
        Assert.That(merged.TryGetValue("a", out var a) ? a : null, Is.EqualTo(new byte[] { 1 }));
        Assert.That(merged.TryGetValue("b", out var b) ? b : null, Is.EqualTo(new byte[] { 2 }));
        Assert.That(merged.Keys, Does.Not.Contain("gone"));
    }

    [Test]
    public async Task Merge_lets_the_later_save_win_on_the_same_key()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [0]));
        var first = await LoadRequiredAsync(store, id);
        var second = await LoadRequiredAsync(store, id);

        first.Set("a", [1]);
        second.Set("a", [2]);
        await store.CommitAsync(first, CancellationToken.None);
        await store.CommitAsync(second, CancellationToken.None);

        Assert.That((await LoadRequiredAsync(store, id)).TryGetValue("a", out var a) ? a : null, Is.EqualTo(new byte[] { 2 }));
    }

    [Test]
    public async Task Merge_loses_no_key_when_many_requests_race_for_real()
    {
        var store = CreateStore(o => o.MaxConflictRetries = 100);
        var id = await CreateSessionAsync(store, ("seed", [0]));
        const int Writers = 32;
        using var start = new ManualResetEventSlim();

        var tasks = Enumerable.Range(0, Writers).Select(i => Task.Run(async () =>
        {
            start.Wait();
            var session = await LoadRequiredAsync(store, id);
            session.Set($"k{i}", [(byte)i]);
            return await store.CommitAsync(session, CancellationToken.None);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(tasks);

        Assert.That(results.Select(r => r.Outcome), Is.All.EqualTo(SessionCommitOutcome.Saved));
        var merged = await LoadRequiredAsync(store, id);
        Assert.That(merged.Count, Is.EqualTo(Writers + 1), "every request's key survived");
    }

    [Test]
    public async Task Last_write_wins_replaces_the_whole_session()
    {
        var store = CreateStore(o => o.ConcurrencyMode = ConcurrencyMode.LastWriteWins);
        var id = await CreateSessionAsync(store, ("a", [0]), ("b", [0]));
        var first = await LoadRequiredAsync(store, id);
        var second = await LoadRequiredAsync(store, id);

        first.Set("a", [1]);
        second.Set("b", [2]);
        await store.CommitAsync(first, CancellationToken.None);
        Assert.That((await store.CommitAsync(second, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Saved));

        var final = await LoadRequiredAsync(store, id);
        Assert.That(final.TryGetValue("a", out var a) ? a : null, Is.EqualTo(new byte[] { 0 }), "the first request's change was overwritten");
        Assert.That(final.TryGetValue("b", out var b) ? b : null, Is.EqualTo(new byte[] { 2 }));
    }

    [Test]
    public async Task Fail_mode_throws_on_a_concurrent_change_and_writes_nothing()
    {
        var store = CreateStore(o => o.ConcurrencyMode = ConcurrencyMode.Fail);
        var id = await CreateSessionAsync(store, ("a", [0]));
        var first = await LoadRequiredAsync(store, id);
        var second = await LoadRequiredAsync(store, id);
        first.Set("a", [1]);
        second.Set("a", [2]);
        await store.CommitAsync(first, CancellationToken.None);

        var ex = Assert.ThrowsAsync<SessionConflictException>(async () => await store.CommitAsync(second, CancellationToken.None));

        Assert.That(ex!.Message, Does.Contain("ConcurrencyMode"));
        Assert.That((await LoadRequiredAsync(store, id)).TryGetValue("a", out var a) ? a : null, Is.EqualTo(new byte[] { 1 }));
    }

    [TestCase(ConcurrencyMode.Merge)]
    [TestCase(ConcurrencyMode.LastWriteWins)]
    public async Task A_save_after_a_concurrent_destroy_does_not_resurrect_the_session(ConcurrencyMode mode)
    {
        var store = CreateStore(o => o.ConcurrencyMode = mode);
        var id = await CreateSessionAsync(store, ("a", [0]));
        var longRequest = await LoadRequiredAsync(store, id);
        var logout = await LoadRequiredAsync(store, id);
        logout.Destroy();
        await store.CommitAsync(logout, CancellationToken.None);

        longRequest.Set("a", [1]);
        var result = await store.CommitAsync(longRequest, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Gone));
        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null);
        Assert.That(Memory.Count, Is.Zero);
    }

    [Test]
    public async Task A_touch_after_a_concurrent_destroy_reports_the_session_gone()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [0]));
        Clock.Advance(TimeSpan.FromMinutes(5));
        var reader = await LoadRequiredAsync(store, id);
        await store.DeleteAsync(id, CancellationToken.None);

        Assert.That((await store.CommitAsync(reader, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Gone));
        Assert.That(Memory.Count, Is.Zero);
    }

    [Test]
    public async Task Retries_are_bounded_and_end_in_a_clear_conflict()
    {
        var store = CreateStore(o => o.MaxConflictRetries = 3);
        var id = await CreateSessionAsync(store, ("a", [0]));
        var session = await LoadRequiredAsync(store, id);
        session.Set("a", [1]);
        Backend.AlwaysConflict = true;
        Backend.Reset();

        var ex = Assert.ThrowsAsync<SessionConflictException>(async () => await store.CommitAsync(session, CancellationToken.None));

        Assert.That(ex!.Message, Does.Contain("MaxConflictRetries"));
        Assert.That(Backend.Sets, Is.EqualTo(4), "the first try and three retries");
    }
}
