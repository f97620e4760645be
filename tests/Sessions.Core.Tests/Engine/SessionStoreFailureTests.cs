using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Core.Tests.Engine;

public sealed class SessionStoreFailureTests : SessionStoreTestBase
{
    [Test]
    public async Task A_corrupt_record_is_treated_as_missing_logged_and_left_in_place()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));
        var key = store.Keys.ForSession(id)!;
        await Memory.SetAsync(key, new SessionRecord(new byte[] { 0x01, 0xFF, 0x00 }, Clock.GetUtcNow().AddMinutes(5), 9), SetCondition.Always, CancellationToken.None);

        var loaded = await store.LoadAsync(id, CancellationToken.None);

        Assert.That(loaded, Is.Null);
        Assert.That(Logger.Entries.Select(e => (e.Level, e.EventId.Id)), Does.Contain((LogLevel.Warning, 1001)));
        Assert.That(await Memory.GetAsync(key, CancellationToken.None), Is.Not.Null, "a record a newer version may understand is not destroyed");
    }

    [Test]
    public async Task A_record_from_an_unknown_format_is_treated_as_missing()
    {
        var store = CreateStore();
        var id = new Sessions.Ids.SessionIdGenerator().CreateId();
        await Memory.SetAsync(store.Keys.ForSession(id)!, new SessionRecord(new byte[] { 0x7F, 1, 2, 3 }, Clock.GetUtcNow().AddMinutes(5), 1), SetCondition.Always, CancellationToken.None);

        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Saving_more_than_the_payload_limit_fails_clearly_and_writes_nothing()
    {
        var store = CreateStore(o => o.MaxPayloadBytes = 1000);
        var session = store.CreateNew();
        session.Set("big", new byte[2000]);

        var ex = Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await store.CommitAsync(session, CancellationToken.None));

        Assert.That(ex!.Message, Does.Contain("MaxPayloadBytes"));
        Assert.That(ex.MaxPayloadBytes, Is.EqualTo(1000));
        Assert.That(ex.PayloadBytes, Is.GreaterThan(2000));
        Assert.That(Memory.Count, Is.Zero);
    }

    [Test]
    public void A_backend_failure_surfaces_as_a_session_backend_exception_naming_backend_and_operation()
    {
        var store = CreateStore();
        Backend.FailWith = new IOException("connection refused");

        var ex = Assert.ThrowsAsync<SessionBackendException>(async () => await store.LoadAsync(new Sessions.Ids.SessionIdGenerator().CreateId(), CancellationToken.None));

        Assert.That(ex!.Backend, Is.EqualTo("memory"));
        Assert.That(ex.Operation, Is.EqualTo("get"));
        Assert.That(ex.InnerException, Is.TypeOf<IOException>());
        Assert.That(ex.Message, Does.Contain("connection refused"));
        Assert.That(Logger.Entries.Select(e => e.EventId.Id), Does.Contain(1004));
    }

    [Test]
    public async Task A_failed_save_leaves_the_stored_session_as_it_was()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));
        var session = await LoadRequiredAsync(store, id);
        session.Set("a", [2]);
        Backend.FailWith = new TimeoutException("timed out");

        Assert.ThrowsAsync<SessionBackendException>(async () => await store.CommitAsync(session, CancellationToken.None));

        Backend.FailWith = null;
        Assert.That((await LoadRequiredAsync(store, id)).TryGetValue("a", out var a) ? a : null, Is.EqualTo(new byte[] { 1 }));
    }

    [Test]
    public async Task The_store_works_again_when_the_backend_comes_back()
    {
        var store = CreateStore();
        var id = await CreateSessionAsync(store, ("a", [1]));
        Backend.FailWith = new IOException("down");
        Assert.ThrowsAsync<SessionBackendException>(async () => await store.LoadAsync(id, CancellationToken.None));

        Backend.FailWith = null;

        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Not.Null);
    }

    [Test]
    public void Cancellation_is_not_disguised_as_a_backend_failure()
    {
        var store = CreateStore();
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.That(
            async () => await store.LoadAsync(new Sessions.Ids.SessionIdGenerator().CreateId(), cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void Invalid_options_are_refused_by_the_constructor()
    {
        var ex = Assert.Throws<ArgumentException>(() => CreateStore(o => o.IdleTimeout = TimeSpan.Zero));

        Assert.That(ex!.Message, Does.Contain("Sessions:IdleTimeout"));
    }
}
