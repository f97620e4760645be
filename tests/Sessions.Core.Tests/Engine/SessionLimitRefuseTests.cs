using NUnit.Framework;
using Sessions.Backends;
using Sessions.Engine;

namespace Sessions.Core.Tests.Engine;

/// <summary>
/// <see cref="SessionLimitMode.Refuse"/> under races, made deterministic by holding one sign-in's session write back while
/// another runs: a sign-in that is answered is never cut afterwards, a binding in flight holds its place, a very late
/// one refuses itself, and a sign-in that is refused or fails after it began writing leaves the session it came from as it was.
/// </summary>
public sealed class SessionLimitRefuseTests : SessionStoreTestBase
{
    private const string Ana = "ana@example.com";

    [Test]
    public async Task A_sign_in_whose_write_is_in_flight_holds_its_place_and_a_later_one_is_refused()
    {
        var store = Capped(1);
        var (first, firstCommit, release) = await StartHeldSignInAsync(store);

        var second = store.CreateNew();
        second.UserId = Ana;
        Assert.ThrowsAsync<SessionLimitExceededException>(async () => await store.CommitAsync(second, CancellationToken.None),
            "the first sign-in was added to the index earlier and its write is in flight: it holds the only place");

        release();
        Assert.That((await firstCommit).Outcome, Is.EqualTo(SessionCommitOutcome.Created), "the sign-in ahead goes through");
        using (Assert.EnterMultipleScope())
        {
            Assert.That((await LoadRequiredAsync(store, first.Id)).UserId, Is.EqualTo(Ana));
            Assert.That(await store.LoadAsync(second.Id, CancellationToken.None), Is.Null, "the refused sign-in left no session");
            Assert.That(UserIndex(store), Is.EqualTo(new[] { store.Keys.ForSession(first.Id) }), "nor an index entry");
        }
    }

    [Test]
    public async Task A_sign_in_behind_one_in_flight_is_refused_rather_than_answered_and_cut_later()
    {
        // Before the fix, the second sign-in below was answered (the first was not live yet) and then cut by the first
        // when its write landed: a sign-in answered 200 that did not stay signed in.
        var store = Capped(2);
        await SignInAsync(store);
        var (first, firstCommit, release) = await StartHeldSignInAsync(store);

        var second = store.CreateNew();
        second.UserId = Ana;
        Assert.ThrowsAsync<SessionLimitExceededException>(async () => await store.CommitAsync(second, CancellationToken.None));
        release();
        await firstCommit;

        Assert.That(LiveSessionsOf(store), Has.Count.EqualTo(2));
        Assert.That((await LoadRequiredAsync(store, first.Id)).UserId, Is.EqualTo(Ana), "the answered sign-in stays signed in");
    }

    [Test]
    public async Task A_binding_stuck_longer_than_the_window_is_passed_over_and_then_refuses_itself()
    {
        var store = Capped(1);
        var (stuck, stuckCommit, release) = await StartHeldSignInAsync(store);

        Clock.Advance(UserSessionCap.PendingBindingWindow + TimeSpan.FromSeconds(1));
        var later = await SignInAsync(store);
        Assert.That((await LoadRequiredAsync(store, later)).UserId, Is.EqualTo(Ana), "a binding older than the window with no session holds no place");

        release();
        Assert.ThrowsAsync<SessionLimitExceededException>(async () => await stuckCommit, "the stuck binding may have been passed over: it refuses itself");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await store.LoadAsync(stuck.Id, CancellationToken.None), Is.Null);
            Assert.That(LiveSessionsOf(store), Has.Count.EqualTo(1));
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1046), Is.EqualTo(1), "the late binding is logged");
        }
    }

    [Test]
    public async Task A_sign_in_refused_after_its_regenerate_puts_the_anonymous_session_back()
    {
        var store = Capped(1);
        var anonymous = await CreateSessionAsync(store, ("cart", Bytes("3 books")));
        var (_, otherCommit, release) = await StartHeldSignInAsync(store);

        var session = await LoadRequiredAsync(store, anonymous);
        session.UserId = Ana;
        session.Regenerate();
        Assert.ThrowsAsync<SessionLimitExceededException>(async () => await store.CommitAsync(session, CancellationToken.None),
            "the up-front check passes (the other sign-in is not live yet); the check after the write refuses");
        Assert.That(Text(await LoadRequiredAsync(store, anonymous), "cart"), Is.EqualTo("3 books"), "the old ID is the anonymous session again, not a tombstone");

        // What the README tells an app to do with the refusal: unbind and go on.
        session.UserId = null;
        Assert.That((await store.CommitAsync(session, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Created));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Text(await LoadRequiredAsync(store, session.Id), "cart"), Is.EqualTo("3 books"), "the cart moved to the new ID");
            Assert.That((await LoadRequiredAsync(store, session.Id)).UserId, Is.Null);
        }

        release();
        Assert.That((await otherCommit).Outcome, Is.EqualTo(SessionCommitOutcome.Created));
    }

    [Test]
    public async Task A_binding_without_regenerate_that_is_refused_leaves_the_session_unbound_and_intact()
    {
        var store = Capped(1);
        var anonymous = await CreateSessionAsync(store, ("cart", Bytes("2 pens")));
        var (_, otherCommit, release) = await StartHeldSignInAsync(store);

        var session = await LoadRequiredAsync(store, anonymous);
        session.UserId = Ana;
        Assert.ThrowsAsync<SessionLimitExceededException>(async () => await store.CommitAsync(session, CancellationToken.None));
        var stored = await LoadRequiredAsync(store, anonymous);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(stored.UserId, Is.Null, "not bound");
            Assert.That(Text(stored, "cart"), Is.EqualTo("2 pens"));
        }

        session.UserId = null;
        session.Set("cart", Bytes("3 pens"));
        Assert.That((await store.CommitAsync(session, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Saved), "the next save goes through");
        Assert.That(Text(await LoadRequiredAsync(store, anonymous), "cart"), Is.EqualTo("3 pens"));

        release();
        await otherCommit;
        Assert.That(LiveSessionsOf(store), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_regenerated_session_keeps_its_place_ahead_of_sign_ins_in_flight()
    {
        var store = Capped(2);
        var first = await SignInAsync(store);
        var (_, racer1Commit, release1) = await StartHeldSignInAsync(store);
        var (_, racer2Commit, release2) = await StartHeldSignInAsync(store);
        Backend.SetGate = null;

        var session = await LoadRequiredAsync(store, first);
        session.Regenerate();
        Assert.That((await store.CommitAsync(session, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Created),
            "a new ID for a signed-in session is not a new sign-in: it keeps the old ID's place, ahead of the two in flight");
        Assert.That(UserIndex(store)[0], Is.EqualTo(store.Keys.ForSession(session.Id)), "in the old ID's place");

        release1();
        Assert.That((await racer1Commit).Outcome, Is.EqualTo(SessionCommitOutcome.Created), "one place was left");
        release2();
        Assert.ThrowsAsync<SessionLimitExceededException>(async () => await racer2Commit, "the second racer finds two sessions ahead of it");
        Assert.That(LiveSessionsOf(store), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_sign_in_that_reaches_a_full_user_between_its_checks_puts_the_anonymous_session_back()
    {
        // The up-front check passes, then the regenerate's tombstone is held while another sign-in fills the last place:
        // the new ID's own up-front check then refuses, after the old ID was already moved.
        var store = Capped(1);
        var anonymous = await CreateSessionAsync(store, ("cart", Bytes("1 lamp")));
        var oldKey = store.Keys.ForSession(anonymous)!;
        var session = await LoadRequiredAsync(store, anonymous);
        session.UserId = Ana;
        session.Regenerate();
        var (held, release) = HoldNextWrite((key, condition) => key == oldKey && condition.Kind == SetConditionKind.IfVersion);
        var commit = store.CommitAsync(session, CancellationToken.None).AsTask();
        await held;
        Backend.SetGate = null;
        await SignInAsync(store);
        release();

        Assert.ThrowsAsync<SessionLimitExceededException>(async () => await commit);
        Assert.That(Text(await LoadRequiredAsync(store, anonymous), "cart"), Is.EqualTo("1 lamp"), "the old ID is the anonymous session again");
        session.UserId = null;
        Assert.That((await store.CommitAsync(session, CancellationToken.None)).Outcome, Is.EqualTo(SessionCommitOutcome.Created));
        Assert.That(Text(await LoadRequiredAsync(store, session.Id), "cart"), Is.EqualTo("1 lamp"));
    }

    [Test]
    public async Task A_sign_in_whose_new_record_fails_to_save_puts_the_anonymous_session_back([Values] bool capped)
    {
        var store = capped ? Capped(3) : CreateStore(o => o.OperationTimeout = TimeSpan.FromMinutes(10));
        var anonymous = await CreateSessionAsync(store, ("cart", Bytes("4 cups")));
        var session = await LoadRequiredAsync(store, anonymous);
        session.UserId = Ana;
        session.Regenerate();
        Backend.SetGate = (key, condition) => condition.Kind == SetConditionKind.IfAbsent && key == store.Keys.ForSession(session.Id)
            ? Task.FromException(new IOException("test: the store dropped the connection"))
            : Task.CompletedTask;

        Assert.ThrowsAsync<SessionBackendException>(async () => await store.CommitAsync(session, CancellationToken.None));
        Backend.SetGate = null;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Text(await LoadRequiredAsync(store, anonymous), "cart"), Is.EqualTo("4 cups"), "the old ID is not left moved: the client's cookie still works");
            Assert.That(await store.LoadAsync(session.Id, CancellationToken.None), Is.Null);
            Assert.That(UserIndex(store), Is.Empty, "the failed sign-in's index entry is gone");
        }
    }

    private SessionStore Capped(int cap) => CreateStore(o =>
    {
        o.MaxSessionsPerUser = cap;
        o.SessionLimitMode = SessionLimitMode.Refuse;
        o.OperationTimeout = TimeSpan.FromMinutes(10); // the manual clock moves past the window while a write is held
    });

    // A sign-in of Ana whose session write is held back (after its index entry was added) until the action is called.
    private async Task<(SessionData Session, Task<SessionCommitResult> Commit, Action Release)> StartHeldSignInAsync(SessionStore store)
    {
        var (held, release) = HoldNextSessionWrite();
        var session = store.CreateNew();
        session.UserId = Ana;
        var commit = store.CommitAsync(session, CancellationToken.None).AsTask();
        await held;
        return (session, commit, release);
    }

    private static async Task<string> SignInAsync(SessionStore store)
    {
        var session = store.CreateNew();
        session.UserId = Ana;
        await store.CommitAsync(session, CancellationToken.None);
        return session.Id;
    }

    // Holds back the next write of a new session record (not of a user index); the first task completes when it is held.
    private (Task Held, Action Release) HoldNextSessionWrite() =>
        HoldNextWrite((key, condition) => condition.Kind == SetConditionKind.IfAbsent && !key.Contains("u:", StringComparison.Ordinal));

    // Holds back the next write that matches; the first task completes when it is held.
    private (Task Held, Action Release) HoldNextWrite(Func<string, SetCondition, bool> matches)
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var taken = 0;
        Backend.SetGate = (key, condition) =>
        {
            if (matches(key, condition) && Interlocked.Exchange(ref taken, 1) == 0)
            {
                held.SetResult();
                return release.Task;
            }

            return Task.CompletedTask;
        };
        return (held.Task.WaitAsync(TimeSpan.FromSeconds(30)), () => release.SetResult());
    }

    private string?[] UserIndex(SessionStore store)
    {
        var record = Memory.GetAsync(store.Keys.ForUser(Ana), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return record is null ? [] : [.. UserSessionIndex.Decode(record.Payload.Span).Select(m => m.Key)];
    }

    // The sessions in the user's index whose record exists and is bound to the user.
    private List<string> LiveSessionsOf(SessionStore store) =>
        [.. UserIndex(store).OfType<string>().Where(key =>
            Memory.GetAsync(key, CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } record
            && store.TryDecode(record, key, out var envelope) && envelope.UserId == Ana)];
}
