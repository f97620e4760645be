using System.Text;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.Core.Tests.Support;
using Sessions.Engine;
using Sessions.Ids;
using Sessions.Management;
using Sessions.Memory;

namespace Sessions.Core.Tests.Management;

public sealed class SessionManagerTests
{
    private static readonly TimeSpan s_idle = TimeSpan.FromMinutes(20);

    private FakeTimeProvider _clock = null!;
    private MemorySessionBackend _backend = null!;
    private SessionStore _store = null!;
    private SessionManager _manager = null!;

    [SetUp]
    public void CreateManager() => Create();

    [Test]
    public async Task Revoking_another_users_handle_does_nothing()
    {
        var anas = await CreateSessionAsync("ana");
        var handle = _manager.GetHandle(anas);
        await CreateSessionAsync("bob");

        Assert.That(await _manager.RevokeUserSessionAsync("bob", handle), Is.False, "bob cannot revoke ana's session by its handle");

        Assert.That(await _store.LoadAsync(anas, CancellationToken.None), Is.Not.Null, "ana's session lives on");
        Assert.That((await _manager.ListUserSessionsAsync("ana")).Select(s => s.Handle), Is.EqualTo(new[] { handle }));
    }

    [Test]
    public async Task Revoking_an_unknown_handle_returns_false()
    {
        await CreateSessionAsync("ana");

        Assert.That(await _manager.RevokeUserSessionAsync("ana", "not-a-handle"), Is.False);
        Assert.That(await _manager.RevokeUserSessionAsync("nobody", "not-a-handle"), Is.False);
    }

    [Test]
    public async Task Revoking_a_handle_ends_that_session_only()
    {
        var first = await CreateSessionAsync("ana");
        var second = await CreateSessionAsync("ana");

        Assert.That(await _manager.RevokeUserSessionAsync("ana", _manager.GetHandle(first)), Is.True);

        Assert.That(await _store.LoadAsync(first, CancellationToken.None), Is.Null);
        Assert.That(await _store.LoadAsync(second, CancellationToken.None), Is.Not.Null);
        Assert.That(await IndexMembersAsync("ana"), Is.EqualTo(1), "the revoked session leaves the index");
    }

    [Test]
    public async Task Listing_prunes_members_whose_session_expired()
    {
        await CreateSessionAsync("ana", "old");
        _clock.Advance(TimeSpan.FromMinutes(10));
        var recent = await CreateSessionAsync("ana", "recent");
        _clock.Advance(TimeSpan.FromMinutes(15));

        var listed = await _manager.ListUserSessionsAsync("ana");

        Assert.That(listed.Select(s => s.Handle), Is.EqualTo(new[] { _manager.GetHandle(recent) }), "the first session expired 5 minutes ago");
        Assert.That(await IndexMembersAsync("ana"), Is.EqualTo(1), "the expired member is pruned from the stored index");
    }

    [Test]
    public async Task Listing_prunes_members_whose_session_was_deleted_behind_the_index()
    {
        var gone = await CreateSessionAsync("ana");
        var kept = await CreateSessionAsync("ana");

        // Deleted straight from the store (a backend flush, an operator), so the index still lists it.
        Assert.That(await _backend.RemoveAsync(_store.Keys.ForSession(gone)!, null, CancellationToken.None), Is.True);
        Assert.That(await IndexMembersAsync("ana"), Is.EqualTo(2), "setting up: the index does not know yet");

        var listed = await _manager.ListUserSessionsAsync("ana");

        Assert.That(listed.Select(s => s.Handle), Is.EqualTo(new[] { _manager.GetHandle(kept) }));
        Assert.That(await IndexMembersAsync("ana"), Is.EqualTo(1));
    }

    [Test]
    public async Task Listing_skips_a_session_that_now_belongs_to_another_user()
    {
        var id = await CreateSessionAsync("ana");
        var session = (await _store.LoadAsync(id, CancellationToken.None))!;
        session.UserId = "bob";
        await _store.CommitAsync(session, CancellationToken.None);

        Assert.That(await _manager.ListUserSessionsAsync("ana"), Is.Empty);
        Assert.That((await _manager.ListUserSessionsAsync("bob")).Select(s => s.Handle), Is.EqualTo(new[] { _manager.GetHandle(id) }));
    }

    [Test]
    public async Task Listing_describes_sessions_newest_first()
    {
        var start = _clock.GetUtcNow();
        await CreateSessionAsync("ana", "Laptop/1.0");
        _clock.Advance(TimeSpan.FromMinutes(1));
        var phone = await CreateSessionAsync("ana", "Phone/2.0");
        _clock.Advance(TimeSpan.FromMinutes(1));

        var listed = await _manager.ListUserSessionsAsync("ana");

        Assert.That(listed.Select(s => s.ClientDescription), Is.EqualTo(new[] { "Phone/2.0", "Laptop/1.0" }));
        var newest = listed[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(newest.Handle, Is.EqualTo(_manager.GetHandle(phone)));
            Assert.That(newest.UserId, Is.EqualTo("ana"));
            Assert.That(newest.CreatedAt, Is.EqualTo(start + TimeSpan.FromMinutes(1)));
            Assert.That(newest.ExpiresAt, Is.EqualTo(start + TimeSpan.FromMinutes(1) + s_idle));
            Assert.That(newest.LastSeenAt, Is.EqualTo(newest.CreatedAt));
        }
    }

    [Test]
    public async Task The_index_never_holds_a_session_id()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await CreateSessionAsync("ana", $"client {i}"));
        }

        // A regenerated and a destroyed session pass through the index too.
        var regenerated = (await _store.LoadAsync(ids[0], CancellationToken.None))!;
        regenerated.Regenerate();
        await _store.CommitAsync(regenerated, CancellationToken.None);
        ids.Add(regenerated.Id);
        var destroyed = (await _store.LoadAsync(ids[1], CancellationToken.None))!;
        destroyed.Destroy();
        await _store.CommitAsync(destroyed, CancellationToken.None);
        await _manager.ListUserSessionsAsync("ana");

        var keys = new List<string>();
        await foreach (var key in _backend.EnumerateKeysAsync(string.Empty, CancellationToken.None))
        {
            keys.Add(key);
        }

        Assert.That(keys, Has.Some.EqualTo(_store.Keys.ForUser("ana")), "setting up: the index record exists");
        foreach (var key in keys)
        {
            var record = await _backend.GetAsync(key, CancellationToken.None);
            var text = Encoding.UTF8.GetString(record!.Payload.Span);
            foreach (var id in ids)
            {
                Assert.That(key, Does.Not.Contain(id), "a storage key");
                Assert.That(text, Does.Not.Contain(id), $"the record under {key}");
            }
        }
    }

    [Test]
    public async Task Revoking_all_of_a_users_sessions_reports_them_and_removes_the_index()
    {
        var first = await CreateSessionAsync("ana");
        var second = await CreateSessionAsync("ana");
        var bobs = await CreateSessionAsync("bob");

        Assert.That(await _manager.RevokeUserSessionsAsync("ana"), Is.EqualTo(2));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await _store.LoadAsync(first, CancellationToken.None), Is.Null);
            Assert.That(await _store.LoadAsync(second, CancellationToken.None), Is.Null);
            Assert.That(await _store.LoadAsync(bobs, CancellationToken.None), Is.Not.Null);
            Assert.That(await _backend.GetAsync(_store.Keys.ForUser("ana"), CancellationToken.None), Is.Null, "an empty index is deleted");
            Assert.That(await _manager.RevokeUserSessionsAsync("ana"), Is.Zero);
        }
    }

    [Test]
    public async Task Get_and_delete_by_id()
    {
        var id = await CreateSessionAsync("ana");

        var info = await _manager.GetAsync(id);

        Assert.That(info, Is.Not.Null);
        Assert.That(info!.UserId, Is.EqualTo("ana"));
        Assert.That(info.Handle, Is.EqualTo(_manager.GetHandle(id)));
        Assert.That(await _manager.DeleteAsync(id), Is.True);
        Assert.That(await _manager.GetAsync(id), Is.Null);
        Assert.That(await _manager.DeleteAsync(id), Is.False);
        Assert.That(await IndexMembersAsync("ana"), Is.Zero, "a delete by ID updates the user's index");
    }

    [TestCase("")]
    [TestCase("short")]
    [TestCase("not a session id at all, with spaces and far too long to be one")]
    public async Task Malformed_ids_are_unknown(string id)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await _manager.GetAsync(id), Is.Null);
            Assert.That(await _manager.DeleteAsync(id), Is.False);
            Assert.That(_manager.GetHandle(id), Is.Empty);
        }
    }

    [Test]
    public async Task A_handle_is_stable_and_is_not_the_id()
    {
        var id = await CreateSessionAsync("ana");

        var handle = _manager.GetHandle(id);

        Assert.That(handle, Is.Not.Empty.And.Not.EqualTo(id));
        Assert.That(id, Does.Not.Contain(handle));
        Assert.That(_manager.GetHandle(id), Is.EqualTo(handle));
    }

    [Test]
    public async Task Purging_deletes_expired_records_of_a_purger_backend()
    {
        await CreateSessionAsync(null);
        await CreateSessionAsync(null);
        _clock.Advance(s_idle + TimeSpan.FromSeconds(1));
        await CreateSessionAsync(null);

        Assert.That(await _manager.PurgeExpiredAsync(), Is.EqualTo(2));
        Assert.That(_backend.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Purging_a_backend_that_expires_natively_does_nothing()
    {
        var store = new SessionStore(new CountingBackend(new MemorySessionBackend()), new SessionOptions());

        Assert.That(await new SessionManager(store, new SessionIdGenerator()).PurgeExpiredAsync(), Is.Zero);
    }

    [Test]
    public void Arguments_are_checked()
    {
        Assert.That(() => new SessionManager(null!, new SessionIdGenerator()), Throws.ArgumentNullException);
        Assert.That(() => new SessionManager(_store, null!), Throws.ArgumentNullException);
        Assert.That(async () => await _manager.ListUserSessionsAsync(string.Empty), Throws.InstanceOf<ArgumentException>());
        Assert.That(async () => await _manager.RevokeUserSessionsAsync(null!), Throws.InstanceOf<ArgumentException>());
        Assert.That(async () => await _manager.RevokeUserSessionAsync("ana", null!), Throws.ArgumentNullException);
        Assert.That(async () => await _manager.GetAsync(null!), Throws.ArgumentNullException);
    }

    private void Create()
    {
        _clock = FakeTimeProviders.StartingNow();
        _backend = new MemorySessionBackend(timeProvider: _clock);
        _store = new SessionStore(_backend, new SessionOptions { IdleTimeout = s_idle }, "memory", timeProvider: _clock);
        _manager = new SessionManager(_store, new SessionIdGenerator());
    }

    private async Task<string> CreateSessionAsync(string? user, string? client = null)
    {
        var session = _store.CreateNew();
        session.Set("k", [1, 2, 3]);
        session.UserId = user;
        session.ClientDescription = client;
        var result = await _store.CommitAsync(session, CancellationToken.None);
        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Created), "setting up a session");
        return session.Id;
    }

    private async Task<int> IndexMembersAsync(string user)
    {
        var record = await _backend.GetAsync(_store.Keys.ForUser(user), CancellationToken.None);
        return record is null ? 0 : UserSessionIndex.Decode(record.Payload.Span).Count;
    }
}
