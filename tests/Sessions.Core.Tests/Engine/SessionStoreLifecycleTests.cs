using NUnit.Framework;
using Sessions.Engine;

namespace Sessions.Core.Tests.Engine;

public sealed class SessionStoreLifecycleTests : SessionStoreTestBase
{
    [Test]
    public async Task An_untouched_new_session_costs_no_backend_call_and_draws_no_id()
    {
        var store = CreateStore();
        var session = store.CreateNew();

        var result = await store.CommitAsync(session, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Unchanged));
        Assert.That(Backend.Calls, Is.Zero);
        Assert.That(session.HasId, Is.False);
    }

    [Test]
    public async Task A_new_session_with_data_is_created_and_loads_back()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("name", Bytes("ada")), ("n", [0, 0, 0, 7]));

        var loaded = await LoadRequiredAsync(store, id);

        Assert.That(Text(loaded, "name"), Is.EqualTo("ada"));
        Assert.That(loaded.TryGetValue("n", out var n) ? n : null, Is.EqualTo(new byte[] { 0, 0, 0, 7 }));
        Assert.That(loaded.CreatedAt, Is.EqualTo(Clock.GetUtcNow()));
        Assert.That(loaded.ExpiresAt, Is.EqualTo(Clock.GetUtcNow() + TimeSpan.FromMinutes(20)));
        Assert.That(loaded.IsNew, Is.False);
    }

    [Test]
    public async Task A_new_session_left_empty_is_not_stored()
    {
        var store = CreateStore();
        var session = store.CreateNew();
        session.Set("a", [1]);
        session.Remove("a");

        var result = await store.CommitAsync(session, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Unchanged));
        Assert.That(Memory.Count, Is.Zero);
    }

    [Test]
    public async Task Reading_a_session_within_touch_after_writes_nothing()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));
        Backend.Reset();
        Clock.Advance(TimeSpan.FromSeconds(30));

        var session = await LoadRequiredAsync(store, id);
        var result = await store.CommitAsync(session, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Unchanged));
        Assert.That(Backend.Calls, Is.EqualTo(1), "one get, no write");
    }

    [Test]
    public async Task Reading_a_session_after_touch_after_extends_its_expiry_without_rewriting_it()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));
        var before = await Memory.GetAsync(store.Keys.ForSession(id)!, CancellationToken.None);
        Backend.Reset();
        Clock.Advance(TimeSpan.FromMinutes(2));

        var session = await LoadRequiredAsync(store, id);
        var result = await store.CommitAsync(session, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Touched));
        Assert.That(result.ExpiresAt, Is.EqualTo(Clock.GetUtcNow() + TimeSpan.FromMinutes(20)));
        Assert.That((Backend.Sets, Backend.Touches), Is.EqualTo((0, 1)));
        var after = await Memory.GetAsync(store.Keys.ForSession(id)!, CancellationToken.None);
        Assert.That(after!.Version, Is.EqualTo(before!.Version));
        Assert.That(after.ExpiresAt, Is.EqualTo(result.ExpiresAt));
    }

    [Test]
    public async Task Touch_after_is_capped_at_half_the_idle_timeout()
    {
        var store = CreateStore(o => (o.IdleTimeout, o.TouchAfter) = (TimeSpan.FromMinutes(2), TimeSpan.FromHours(1)));
        var id = await CreateSessionAsync(store, ("a", [1]));
        Clock.Advance(TimeSpan.FromSeconds(61));

        var result = await store.CommitAsync(await LoadRequiredAsync(store, id), CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Touched));
    }

    [Test]
    public async Task A_session_idle_for_longer_than_the_idle_timeout_is_gone()
    {
        var store = CreateStore(o => o.IdleTimeout = TimeSpan.FromMinutes(5));
        var id = await CreateSessionAsync(store, ("a", [1]));

        Clock.Advance(TimeSpan.FromMinutes(4));
        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Not.Null);
        Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Activity_keeps_a_session_alive_past_the_idle_timeout()
    {
        var store = CreateStore(o => (o.IdleTimeout, o.TouchAfter) = (TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1)));
        var id = await CreateSessionAsync(store, ("a", [1]));

        for (var i = 0; i < 10; i++)
        {
            Clock.Advance(TimeSpan.FromMinutes(3));
            await store.CommitAsync(await LoadRequiredAsync(store, id), CancellationToken.None);
        }

        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Not.Null, "30 minutes of activity, never 5 idle");
    }

    [Test]
    public async Task The_absolute_timeout_ends_an_active_session_and_caps_its_expiry()
    {
        var store = CreateStore(o => (o.IdleTimeout, o.AbsoluteTimeout, o.TouchAfter) = (TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(25), TimeSpan.FromMinutes(1)));
        var created = Clock.GetUtcNow();
        var id = await CreateSessionAsync(store, ("a", [1]));

        for (var i = 0; i < 4; i++)
        {
            Clock.Advance(TimeSpan.FromMinutes(5));
            var session = await LoadRequiredAsync(store, id);
            session.Set("a", [(byte)i]);
            var result = await store.CommitAsync(session, CancellationToken.None);
            Assert.That(result.ExpiresAt, Is.LessThanOrEqualTo(created + TimeSpan.FromMinutes(25)));
        }

        var last = await LoadRequiredAsync(store, id);
        Assert.That(last.AbsoluteDeadline, Is.EqualTo(created + TimeSpan.FromMinutes(25)));
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null, "25 minutes after creation, however active");
    }

    [Test]
    public async Task Removing_every_key_deletes_the_record()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]), ("b", [2]));
        var session = await LoadRequiredAsync(store, id);
        session.Remove("a");
        session.Remove("b");

        var result = await store.CommitAsync(session, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Deleted));
        Assert.That(Memory.Count, Is.Zero);
    }

    [Test]
    public async Task Clear_deletes_the_record()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));
        var session = await LoadRequiredAsync(store, id);
        session.Clear();

        Assert.That((await store.CommitAsync(session, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Deleted));
        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Regenerate_moves_the_data_to_a_new_id_and_leaves_only_a_moved_tombstone_under_the_old_id()
    {
        var store = CreateStore();
        var oldId = await CreateSessionAsync(store, ("cart", Bytes("3 apples")));
        var session = await LoadRequiredAsync(store, oldId);
        var created = session.CreatedAt;
        Clock.Advance(TimeSpan.FromSeconds(5));

        session.Regenerate();
        var result = await store.CommitAsync(session, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Created));
        Assert.That(session.Id, Is.Not.EqualTo(oldId));
        Assert.That(await store.LoadAsync(oldId, CancellationToken.None), Is.Null);
        var moved = await LoadRequiredAsync(store, session.Id);
        Assert.That(Text(moved, "cart"), Is.EqualTo("3 apples"));
        Assert.That(moved.CreatedAt, Is.EqualTo(created), "regeneration keeps the session's creation time");
        Assert.That(Memory.Count, Is.EqualTo(2), "the new record, and the old ID's tombstone");
        var tombstone = await Memory.GetAsync(store.Keys.ForSession(oldId)!, CancellationToken.None);
        Assert.That(tombstone!.Payload.Length, Is.LessThan(16), "the tombstone holds no data");
        Assert.That(tombstone.ExpiresAt, Is.EqualTo(Clock.GetUtcNow() + new SessionOptions().MovedIdLifetime), "and lives for MovedIdLifetime");
    }

    [Test]
    public async Task Regenerate_keeps_changes_another_request_saved_meanwhile()
    {
        var store = CreateStore();
        var oldId = await CreateSessionAsync(store, ("a", [1]));
        var login = await LoadRequiredAsync(store, oldId);
        var other = await LoadRequiredAsync(store, oldId);
        other.Set("b", [2]);
        await store.CommitAsync(other, CancellationToken.None);

        login.UserId = "ada";
        login.Regenerate();
        await store.CommitAsync(login, CancellationToken.None);

        var moved = await LoadRequiredAsync(store, login.Id);
        Assert.That(moved.Keys, Is.EquivalentTo(new[] { "a", "b" }));
        Assert.That(moved.UserId, Is.EqualTo("ada"));
    }

    [Test]
    public async Task A_write_through_the_old_id_after_a_regenerate_finds_the_session_gone_and_writes_nothing()
    {
        var store = CreateStore();
        var oldId = await CreateSessionAsync(store, ("a", [1]));
        var late = await LoadRequiredAsync(store, oldId);
        var login = await LoadRequiredAsync(store, oldId);
        login.UserId = "ada";
        login.Regenerate();
        await store.CommitAsync(login, CancellationToken.None);

        late.Set("late", [9]);
        var result = await store.CommitAsync(late, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Gone));
        Assert.That(await store.LoadAsync(oldId, CancellationToken.None), Is.Null);
        Assert.That((await store.LoadOrMovedAsync(oldId, CancellationToken.None)).Moved, Is.True, "the old ID is recognised as moved");
        Assert.That((await LoadRequiredAsync(store, login.Id)).Keys, Is.EquivalentTo(new[] { "a" }));
        Assert.That(Logger.Entries.Select(e => e.EventId.Id), Does.Not.Contain(1001), "a tombstone is never reported as a corrupt record");
    }

    [Test]
    public async Task A_touch_of_a_persistent_session_regenerated_meanwhile_is_gone_so_no_cookie_is_resent()
    {
        var store = CreateStore(o =>
        {
            o.PersistentByDefault = true;
            o.TouchAfter = TimeSpan.FromSeconds(1);
            o.MovedIdLifetime = TimeSpan.FromMinutes(1);
        });
        var oldId = await CreateSessionAsync(store, ("a", [1]));
        var reader = await LoadRequiredAsync(store, oldId);
        var login = await LoadRequiredAsync(store, oldId);
        login.Regenerate();
        await store.CommitAsync(login, CancellationToken.None);
        Clock.Advance(TimeSpan.FromSeconds(5));

        var result = await store.CommitAsync(reader, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Gone), "not Touched: the middleware would re-send the old ID's cookie");
        Assert.That((await store.LoadOrMovedAsync(oldId, CancellationToken.None)).Moved, Is.True, "the old ID is still moved");
    }

    [Test]
    public async Task Regenerate_after_a_concurrent_destroy_does_not_resurrect_the_session()
    {
        var store = CreateStore();
        var oldId = await CreateSessionAsync(store, ("a", [1]));
        var login = await LoadRequiredAsync(store, oldId);
        Assert.That(await store.DeleteAsync(oldId, CancellationToken.None), Is.True);

        login.Regenerate();
        var result = await store.CommitAsync(login, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Gone));
        Assert.That(Memory.Count, Is.Zero);
    }

    [Test]
    public async Task Destroy_deletes_the_record_and_leaves_a_fresh_session()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));
        var session = await LoadRequiredAsync(store, id);

        session.Destroy();
        Assert.That(session.Count, Is.Zero);
        Assert.That(session.IsNew, Is.True);
        var result = await store.CommitAsync(session, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Deleted));
        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null);
        Assert.That(Memory.Count, Is.Zero);
    }

    [Test]
    public async Task Data_written_after_destroy_goes_to_a_new_id()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));
        var session = await LoadRequiredAsync(store, id);

        session.Destroy();
        session.Set("flash", Bytes("signed out"));
        var result = await store.CommitAsync(session, CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Created));
        Assert.That(session.Id, Is.Not.EqualTo(id));
        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null);
        var fresh = await LoadRequiredAsync(store, session.Id);
        Assert.That(fresh.Keys, Is.EquivalentTo(new[] { "flash" }));
    }

    [Test]
    public async Task User_and_persistence_round_trip()
    {
        var store = CreateStore(o => o.PersistentByDefault = true);
        var session = store.CreateNew();
        Assert.That(session.IsPersistent, Is.True);
        session.UserId = "ada@example.com";
        session.IsPersistent = false;
        await store.CommitAsync(session, CancellationToken.None);

        var loaded = await LoadRequiredAsync(store, session.Id);

        Assert.That(loaded.UserId, Is.EqualTo("ada@example.com"));
        Assert.That(loaded.IsPersistent, Is.False);
    }

    [Test]
    public async Task A_session_bound_to_a_user_is_stored_even_without_entries()
    {
        var store = CreateStore();
        var session = store.CreateNew();
        session.UserId = "ada";

        Assert.That((await store.CommitAsync(session, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Created));
    }

    [Test]
    public async Task Malformed_ids_are_rejected_without_a_backend_call()
    {
        var store = CreateStore();

        foreach (var id in new[] { string.Empty, "short", new string('a', 44), "../../../../etc/passwd" + new string('a', 21), new string('é', 43) })
        {
            Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null, id);
        }

        Assert.That(Backend.Calls, Is.Zero);
    }

    [Test]
    public async Task An_unknown_well_formed_id_is_not_adopted()
    {
        var store = CreateStore();
        var forged = new Sessions.Ids.SessionIdGenerator().CreateId();

        Assert.That(await store.LoadAsync(forged, CancellationToken.None), Is.Null);
        var session = store.CreateNew();
        session.Set("a", [1]);
        await store.CommitAsync(session, CancellationToken.None);
        Assert.That(session.Id, Is.Not.EqualTo(forged));
    }

    [Test]
    public async Task Storage_keys_hold_a_hash_of_the_id_not_the_id()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));

        var keys = await ToListAsync(Memory.EnumerateKeysAsync(string.Empty, CancellationToken.None));

        Assert.That(keys, Has.Count.EqualTo(1));
        Assert.That(keys[0], Does.StartWith("session:"));
        Assert.That(keys[0], Does.Not.Contain(id));
        Assert.That(keys[0], Has.Length.EqualTo("session:".Length + 43));
    }

    [Test]
    public async Task Raw_id_mode_stores_the_id_in_the_key()
    {
        var store = CreateStore(o => (o.HashIdsAtRest, o.KeyPrefix) = (false, "app1:"));
        var id = await CreateSessionAsync(store, ("a", [1]));

        var keys = await ToListAsync(Memory.EnumerateKeysAsync(string.Empty, CancellationToken.None));

        Assert.That(keys, Is.EqualTo(new[] { "app1:" + id }));
    }

    [Test]
    public async Task Json_format_is_readable_and_both_formats_read_each_other()
    {
        var jsonStore = CreateStore(o => o.Format = SessionFormat.Json);
        var id = await CreateSessionAsync(jsonStore, ("name", Bytes("ada")));
        var record = await Memory.GetAsync(jsonStore.Keys.ForSession(id)!, CancellationToken.None);
        var json = System.Text.Encoding.UTF8.GetString(record!.Payload.Span);
        Assert.That(json, Does.StartWith("{").And.Contain("\"name\":\"ada\""));

        var binaryStore = CreateStore(o => o.Format = SessionFormat.Binary);
        var session = await LoadRequiredAsync(binaryStore, id);
        session.Set("n", [1]);
        await binaryStore.CommitAsync(session, CancellationToken.None);
        record = await Memory.GetAsync(jsonStore.Keys.ForSession(id)!, CancellationToken.None);
        Assert.That(record!.Payload.Span[0], Is.EqualTo(0x01), "rewritten in the binary format");
        Assert.That(Text(await LoadRequiredAsync(jsonStore, id), "name"), Is.EqualTo("ada"));
    }

    [Test]
    public async Task Delete_by_id_removes_a_session()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));

        Assert.That(await store.DeleteAsync(id, CancellationToken.None), Is.True);
        Assert.That(await store.DeleteAsync(id, CancellationToken.None), Is.False);
        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null);
    }

    private static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> source)
    {
        var list = new List<string>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
