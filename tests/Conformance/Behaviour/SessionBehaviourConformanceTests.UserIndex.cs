using System.Diagnostics.Metrics;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Diagnostics;

namespace Sessions.Conformance;

// The user index keeps every live session revocable: when a user piles up sessions past the index's limit of 500, and when
// the store drops the index record (an evicting memcached or Redis) while the sessions it listed live on.
public abstract partial class SessionBehaviourConformanceTests
{
    private const int UserIndexLimit = 500;

    /// <summary>
    /// A session in use stays listed and revocable after 500 more sign-ins of its user that are never used again (an API
    /// client that signs in per call), with no listing in between: the index ends the least recently used session beyond
    /// its limit of 500 live ones, never a live one silently.
    /// </summary>
    [Test]
    public virtual async Task A_session_in_use_stays_revocable_after_500_more_sign_ins_of_its_user()
    {
        var app = await StartAppAsync(RoomyIdleTimeout);
        await WarmUpAsync(app);
        var ana = NewUser("ana");
        var used = await LoginAsync(app, ana, "Used/1.0");
        await app.AdvanceAsync(ExpiryResolution * 2);

        await SignInThroughEngineAsync(app, ana, UserIndexLimit - 1, used);
        await app.AdvanceAsync(ExpiryResolution * 2);
        var beforeLast = await used.GetAsync("/hit");
        Assert.That(beforeLast.IssuedCookie, Is.Null, $"using the session (a save) before the last sign-in. {beforeLast.Describe()}");
        await SignInThroughEngineAsync(app, ana, 1, used);

        var listed = await app.Manager.ListUserSessionsAsync(ana, app.Token);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(listed.Select(s => s.Handle), Does.Contain(app.Manager.GetHandle(used.Cookie!)), "the session in use, the most recently used, is listed");
            Assert.That(listed, Has.Count.LessThanOrEqualTo(UserIndexLimit), "at most 500 live sessions per user");
            if (app.ControllableTime)
            {
                Assert.That(listed, Has.Count.EqualTo(UserIndexLimit), "the 501st live session ended the least recently used one");
                Assert.That(app.Logs.Entries.Count(e => e.EventId.Id == 1070), Is.EqualTo(1), "the session ended at the limit is logged (1070):\n" + string.Join("\n", app.Logs.Entries));
            }
        }

        Assert.That(await app.Manager.RevokeUserSessionsAsync(ana, app.Token), Is.GreaterThanOrEqualTo(1), "revoking all");
        AssertOk(await used.GetAsync("/whoami"), "(anonymous)", "the session in use after revoking all");
        Assert.That(await app.Manager.ListUserSessionsAsync(ana, app.Token), Is.Empty, "the list after revoking all");
    }

    /// <summary>
    /// The same, with the first 300 sign-ins left to expire before the last 200: the dead ones are pruned from the index
    /// first, so no live session is ended, and the session in use stays listed and revocable.
    /// </summary>
    [Test]
    public virtual async Task Expired_sign_ins_are_pruned_before_a_live_session_of_the_user_is_ended()
    {
        var app = await StartAppAsync(RoomyIdleTimeout);
        await WarmUpAsync(app);
        var ana = NewUser("ana");
        var used = await LoginAsync(app, ana, "Used/1.0");
        await app.AdvanceAsync(ExpiryResolution * 2);

        await SignInThroughEngineAsync(app, ana, 300, used);
        var waited = TimeSpan.Zero;
        while (waited <= app.Options.IdleTimeout + Slack)
        {
            await app.AdvanceAsync(app.Options.TouchAfter / 2);
            waited += app.Options.TouchAfter / 2;
            var hit = await used.GetAsync("/hit");
            Assert.That((int)hit.Status, Is.EqualTo(200), $"keeping the used session alive while the first sign-ins expire. {hit.Describe()}");
        }

        await SignInThroughEngineAsync(app, ana, UserIndexLimit - 300, used);

        var listed = await app.Manager.ListUserSessionsAsync(ana, app.Token);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(listed.Select(s => s.Handle), Does.Contain(app.Manager.GetHandle(used.Cookie!)), "the session in use is listed");
            Assert.That(app.Logs.Entries.Where(e => e.EventId.Id is 1070 or 1044), Is.Empty, "no live session was ended: the expired ones made room");
            if (app.ControllableTime)
            {
                Assert.That(listed, Has.Count.EqualTo(UserIndexLimit - 300 + 1), "the session in use and the last 200 sign-ins");
            }
        }

        Assert.That(await app.Manager.RevokeUserSessionsAsync(ana, app.Token), Is.GreaterThanOrEqualTo(1), "revoking all");
        AssertOk(await used.GetAsync("/whoami"), "(anonymous)", "the session in use after revoking all");
        Assert.That(await app.Manager.ListUserSessionsAsync(ana, app.Token), Is.Empty, "the list after revoking all");
    }

    /// <summary>
    /// The store drops the user's index record (deleted behind the engine's back, as an evicting store does), and a later
    /// sign-in starts a new index: revoking all the user's sessions still ends every live one. On a backend that lists its
    /// keys (<see cref="ISessionKeyEnumerator"/>) at once; on one that cannot, a session the revocation could not reach ends
    /// at its next index check (its first use past <c>TouchAfter</c>), as docs/revocation.md states.
    /// </summary>
    [Test]
    public virtual async Task Revoking_all_ends_every_live_session_after_the_user_index_was_lost()
    {
        foreach (var signInAfterLoss in new[] { false, true })
        {
            var app = await StartAppAsync(RoomyIdleTimeout);
            var ana = NewUser("ana");
            var laptop = await LoginAsync(app, ana, "Laptop/1.0");
            var phone = await LoginAsync(app, ana, "Phone/2.0");
            await app.AdvanceAsync(ExpiryResolution * 2);
            await DeleteUserIndexAsync(app, ana);
            var clients = new List<Browser> { laptop, phone };
            if (signInAfterLoss)
            {
                clients.Add(await LoginAsync(app, ana, "Tablet/3.0"));
            }

            var revoked = await app.Manager.RevokeUserSessionsAsync(ana, app.Token);

            var what = signInAfterLoss ? "index lost, then a new sign-in" : "index lost";
            if (app.Backend is ISessionKeyEnumerator)
            {
                Assert.That(revoked, Is.EqualTo(clients.Count), $"{what}: every live session is revoked at once, and counted");
                foreach (var client in clients)
                {
                    AssertOk(await client.GetAsync("/whoami"), "(anonymous)", $"{what}: a client after revoking all");
                }
            }
            else
            {
                // Without key listing, a session the revocation missed ends at its next check of the index: its first use
                // past TouchAfter (that request was already served when the check ran).
                await app.AdvanceAsync(RoomyPastTouchAfter(app));
                foreach (var client in clients)
                {
                    await client.GetAsync("/whoami");
                    AssertOk(await client.GetAsync("/whoami"), "(anonymous)", $"{what}: a client after revoking all and its next index check");
                }
            }

            Assert.That(await app.Manager.ListUserSessionsAsync(ana, app.Token), Is.Empty, $"{what}: the list after revoking all");
        }
    }

    /// <summary>
    /// A signed-in session whose user index the store dropped adds itself back on its next touch or save (a conditional
    /// write, so two healing sessions lose neither), and the loss is detected: logged once (1071) and each healed session
    /// counted in <c>sessions.user_index.healed</c>.
    /// </summary>
    [Test]
    public virtual async Task A_lost_user_index_is_healed_by_the_next_use_of_each_session_and_the_loss_is_reported()
    {
        var app = await StartAppAsync(RoomyIdleTimeout);
        var ana = NewUser("ana");
        var laptop = await LoginAsync(app, ana, "Laptop/1.0");
        var phone = await LoginAsync(app, ana, "Phone/2.0");
        await DeleteUserIndexAsync(app, ana);

        long healed = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SessionsTelemetry.MeterName && instrument.Name == "sessions.user_index.healed")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "sessions.backend" && Equals(tag.Value, app.Store.BackendName))
                {
                    Interlocked.Add(ref healed, value);
                }
            }
        });
        listener.Start();

        await app.AdvanceAsync(RoomyPastTouchAfter(app));
        AssertOk(await laptop.GetAsync("/whoami"), ana, "the laptop, read past TouchAfter (a touch)");
        AssertOk(await phone.GetAsync("/hit"), "1", "the phone, written past TouchAfter (a save)");
        listener.Dispose();

        using (Assert.EnterMultipleScope())
        {
            var listed = await app.Manager.ListUserSessionsAsync(ana, app.Token);
            // A healed entry lacks the User-Agent of its sign-in: the index held it, the session record does not.
            Assert.That(listed.Select(s => s.Handle), Is.EquivalentTo(new[] { app.Manager.GetHandle(laptop.Cookie!), app.Manager.GetHandle(phone.Cookie!) }), "both sessions are back in the index");
            Assert.That(app.Logs.Entries.Count(e => e.EventId.Id == 1071), Is.EqualTo(1), "the loss is logged once (1071):\n" + string.Join("\n", app.Logs.Entries));
            Assert.That(Interlocked.Read(ref healed), Is.GreaterThanOrEqualTo(2), "sessions.user_index.healed counts each session that healed the index");
        }

        Assert.That(await app.Manager.RevokeUserSessionsAsync(ana, app.Token), Is.EqualTo(2), "revoking all after the heal");
        AssertOk(await laptop.GetAsync("/whoami"), "(anonymous)", "the laptop after revoking all");
        AssertOk(await phone.GetAsync("/whoami"), "(anonymous)", "the phone after revoking all");
    }

    // In real time, an idle timeout well beyond the wait past TouchAfter, so that a busy machine's slow set-up (two sign-ins
    // and the index deletion) cannot let the sessions expire before their touch: 4 × the kit's idle timeout, TouchAfter half
    // the kit's. On a manual clock, the kit's defaults.
    private void RoomyIdleTimeout(SessionOptions options)
    {
        if (!SupportsControllableTime)
        {
            options.IdleTimeout = IdleTimeout * 4;
            options.TouchAfter = IdleTimeout / 2;
        }
    }

    private TimeSpan RoomyPastTouchAfter(BehaviourApp app) => app.ControllableTime ? PastTouchAfter : app.Options.TouchAfter * 1.5;

    // In real time, the first calls to a cold store (connections, scripts, code compiled on a busy machine) can take seconds,
    // longer than the kit's short idle timeout: a sign-in first (retried), so the session under test is not slowed by them.
    private static async Task WarmUpAsync(BehaviourApp app)
    {
        for (var attempt = 0; !app.ControllableTime && attempt < 3; attempt++)
        {
            if ((int)(await app.NewBrowser("WarmUp/1.0").GetAsync($"/login?user={NewUser("warm-up")}")).Status == 200)
            {
                return;
            }
        }
    }

    /// <summary>The test-only hook for the user index tests: deletes the user's index record straight from the store, as an evicting store does.</summary>
    private static async Task DeleteUserIndexAsync(BehaviourApp app, string user)
    {
        var key = app.Store.Keys.ForUser(user);
        Assert.That(await app.Backend.Inner.GetAsync(key, app.Token), Is.Not.Null, "setting up: the user's index record exists");
        Assert.That(await app.Backend.Inner.RemoveAsync(key, null, app.Token), Is.True, "setting up: deleting the user's index record behind the engine's back");
    }

    /// <summary>
    /// Signs <paramref name="user"/> in <paramref name="count"/> times through the engine (a new session bound to the user
    /// each time, as a sign-in's commit does), never using those sessions again; keeps <paramref name="keepAlive"/> alive
    /// where time passes for real.
    /// </summary>
    private async Task SignInThroughEngineAsync(BehaviourApp app, string user, int count, Browser keepAlive)
    {
        var lastUse = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var session = app.Store.CreateNew();
            session.UserId = user;
            session.Set("n", [1]);
            var result = await app.Store.CommitAsync(session, app.Token);
            Assert.That(result.Outcome, Is.EqualTo(Engine.SessionCommitOutcome.Created), "setting up: a sign-in through the engine");
            if (!app.ControllableTime && DateTimeOffset.UtcNow - lastUse > app.Options.TouchAfter / 2)
            {
                var hit = await keepAlive.GetAsync("/whoami");
                AssertOk(hit, user, $"setting up: keeping the used session alive (sign-in {i}, {DateTimeOffset.UtcNow - lastUse} since the last use)");
                lastUse = DateTimeOffset.UtcNow;
            }
        }
    }
}
