using NUnit.Framework;
using Sessions.Engine;
using Sessions.Ids;
using Sessions.Management;

namespace Sessions.Core.Tests.Engine;

// The user index's healing and the revocation marker, on a backend that cannot list its keys (the counting wrapper hides the
// memory backend's ISessionKeyEnumerator), as memcached: what docs/revocation.md promises there, and what it costs.
public sealed class UserIndexHealingTests : SessionStoreTestBase
{
    private static readonly TimeSpan s_touchAfter = TimeSpan.FromMinutes(1);

    [Test]
    public async Task A_bound_session_saved_on_every_request_reads_its_index_at_most_once_per_TouchAfter()
    {
        var store = CreateStore(o => o.TouchAfter = s_touchAfter);
        var id = await CreateBoundSessionAsync(store, "ana");
        Clock.Advance(TimeSpan.FromSeconds(61) - TimeSpan.FromTicks(Clock.GetUtcNow().UtcTicks % s_touchAfter.Ticks)); // start of a window
        Backend.Reset();

        const int Saves = 20;
        for (var i = 0; i < Saves; i++)
        {
            var session = await LoadRequiredAsync(store, id);
            session.Set("n", [(byte)i]);
            Assert.That((await store.CommitAsync(session, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Saved));
            Clock.Advance(TimeSpan.FromSeconds(2));
        }

        using (Assert.EnterMultipleScope())
        {
            // 20 saves over 40 s, within one TouchAfter window: a load (get) and a write each, the index touched each time as
            // before, and the index read once, by the first save of the window.
            Assert.That(Backend.Gets, Is.EqualTo(Saves + 1), "gets: one load per request, plus one index check in the window");
            Assert.That(Backend.Sets, Is.EqualTo(Saves), "sets: one save per request");
            Assert.That(Backend.Touches, Is.EqualTo(Saves), "touches: the index, once per save, as before");
        }
    }

    [Test]
    public async Task A_touch_or_save_that_finds_the_index_gone_heals_it_and_logs_the_loss_once()
    {
        var store = CreateStore(o => o.TouchAfter = s_touchAfter);
        var reader = await CreateBoundSessionAsync(store, "ana");
        var writer = await CreateBoundSessionAsync(store, "ana");
        Assert.That(await Memory.RemoveAsync(store.Keys.ForUser("ana"), null, CancellationToken.None), Is.True, "setting up: the store drops the index");

        Clock.Advance(TimeSpan.FromSeconds(90));
        Assert.That((await store.CommitAsync(await LoadRequiredAsync(store, reader), CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Touched));
        var written = await LoadRequiredAsync(store, writer);
        written.Set("n", [1]);
        Assert.That((await store.CommitAsync(written, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Saved));

        var manager = new SessionManager(store, new SessionIdGenerator());
        using (Assert.EnterMultipleScope())
        {
            Assert.That((await manager.ListUserSessionsAsync("ana")).Select(s => s.Handle), Is.EquivalentTo(new[] { manager.GetHandle(reader), manager.GetHandle(writer) }));
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1071), Is.EqualTo(1), "logged once per loss");
        }
    }

    [Test]
    public async Task Without_key_listing_a_session_a_revocation_missed_ends_at_its_next_check_instead_of_healing()
    {
        var store = CreateStore(o => o.TouchAfter = s_touchAfter);
        var manager = new SessionManager(store, new SessionIdGenerator());
        var missed = await CreateBoundSessionAsync(store, "ana");
        Assert.That(await Memory.RemoveAsync(store.Keys.ForUser("ana"), null, CancellationToken.None), Is.True, "setting up: the store drops the index");
        Clock.Advance(TimeSpan.FromSeconds(1));

        Assert.That(await manager.RevokeUserSessionsAsync("ana"), Is.Zero, "without key listing, the revocation cannot find the unlisted session");
        Assert.That(await store.LoadAsync(missed, CancellationToken.None), Is.Not.Null, "the documented window: it still answers until its next check");

        Clock.Advance(TimeSpan.FromSeconds(61));
        var result = await store.CommitAsync(await LoadRequiredAsync(store, missed), CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Gone), "its touch past TouchAfter checks the index and ends it");
            Assert.That(await store.LoadAsync(missed, CancellationToken.None), Is.Null, "the session is gone");
            Assert.That(await manager.ListUserSessionsAsync("ana"), Is.Empty, "and it did not heal the index");
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1073), Is.EqualTo(1), "logged (1073)");
        }

        // A sign-in after the revocation is not affected by the marker, even when its index is lost too.
        var later = await CreateBoundSessionAsync(store, "ana");
        Assert.That(await Memory.RemoveAsync(store.Keys.ForUser("ana"), null, CancellationToken.None), Is.True);
        Clock.Advance(TimeSpan.FromSeconds(61));
        Assert.That((await store.CommitAsync(await LoadRequiredAsync(store, later), CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Touched));
        Assert.That((await manager.ListUserSessionsAsync("ana")).Select(s => s.Handle), Is.EqualTo(new[] { manager.GetHandle(later) }), "the later session healed the index");
    }

    [Test]
    public async Task Racing_heals_and_sign_ins_lose_no_member()
    {
        var store = CreateStore(o => o.TouchAfter = s_touchAfter);
        var sessions = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            sessions.Add(await CreateBoundSessionAsync(store, "ana"));
        }

        Assert.That(await Memory.RemoveAsync(store.Keys.ForUser("ana"), null, CancellationToken.None), Is.True, "setting up: the store drops the index");
        Clock.Advance(TimeSpan.FromSeconds(90));
        var loaded = new List<SessionData>();
        foreach (var id in sessions)
        {
            loaded.Add(await LoadRequiredAsync(store, id));
        }

        var heals = loaded.Select(s => Task.Run(async () => await store.CommitAsync(s, CancellationToken.None)));
        var signIns = Enumerable.Range(0, 4).Select(_ => Task.Run(async () => await CreateBoundSessionAsync(store, "ana")));
        await Task.WhenAll(heals);
        var signedIn = await Task.WhenAll(signIns);

        var manager = new SessionManager(store, new SessionIdGenerator());
        var listed = (await manager.ListUserSessionsAsync("ana")).Select(s => s.Handle);
        Assert.That(listed, Is.EquivalentTo(sessions.Concat(signedIn).Select(manager.GetHandle)), "every healed session and every new sign-in is listed");
    }

    private static async Task<string> CreateBoundSessionAsync(SessionStore store, string user)
    {
        var session = store.CreateNew();
        session.UserId = user;
        session.Set("k", [1]);
        Assert.That((await store.CommitAsync(session, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Created), "setting up a signed-in session");
        return session.Id;
    }
}
