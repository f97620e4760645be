using System.Net;
using NUnit.Framework;

namespace Sessions.Conformance;

// Sessions:MaxSessionsPerUser: the cap on a user's concurrent sessions, kept on the generic user index.
public abstract partial class SessionBehaviourConformanceTests
{
    private const int ParallelLogins = 16;

    /// <summary>At the cap, a new sign-in revokes the user's least recently used session: not the oldest, the one used longest ago.</summary>
    [Test]
    public virtual async Task A_sign_in_beyond_the_cap_revokes_the_least_recently_used_session()
    {
        var app = await StartCappedAppAsync(2, SessionLimitMode.RevokeLeastRecentlyUsed);
        var ana = NewUser("ana");
        var first = await LoginAsync(app, ana, "First/1.0");
        await app.AdvanceAsync(ExpiryResolution * 2);
        var second = await LoginAsync(app, ana, "Second/1.0");
        await app.AdvanceAsync(ExpiryResolution * 2);
        Assert.That((int)(await first.GetAsync("/hit")).Status, Is.EqualTo(200), "using the first session again");
        await app.AdvanceAsync(ExpiryResolution * 2);

        var third = await LoginAsync(app, ana, "Third/1.0");

        using (Assert.EnterMultipleScope())
        {
            AssertOk(await first.GetAsync("/whoami"), ana, "the first session, used after the second was created, stays signed in");
            AssertOk(await second.GetAsync("/whoami"), "(anonymous)", "the second session, the least recently used, is revoked");
            AssertOk(await third.GetAsync("/whoami"), ana, "the new session");
            var listed = await app.Manager.ListUserSessionsAsync(ana, app.Token);
            Assert.That(listed.Select(s => s.ClientDescription), Is.EquivalentTo(new[] { "First/1.0", "Third/1.0" }), "the user's sessions after the third sign-in");
        }
    }

    /// <summary>With <see cref="SessionLimitMode.Refuse"/>, a sign-in at the cap fails (409 unless the app catches it) and the existing sessions stay.</summary>
    [Test]
    public virtual async Task A_sign_in_at_the_cap_is_refused_in_Refuse_mode_and_the_existing_sessions_stay()
    {
        var app = await StartCappedAppAsync(2, SessionLimitMode.Refuse);
        var ana = NewUser("ana");
        var first = await LoginAsync(app, ana, "First/1.0");
        var second = await LoginAsync(app, ana, "Second/1.0");

        var uncaught = await BrowserWithSessionAsync(app);
        var refused = await uncaught.GetAsync($"/login?user={Uri.EscapeDataString(ana)}");
        var caught = await BrowserWithSessionAsync(app);
        var message = await caught.GetAsync($"/login-or-message?user={Uri.EscapeDataString(ana)}");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused.Status, Is.EqualTo(HttpStatusCode.Conflict), $"an uncaught refusal: 409. {refused.Describe()}");
            Assert.That(refused.Body, Does.Contain("2 sessions"), "the 409 says why");
            AssertOk(message, "refused: 2", "an app that catches SessionLimitExceededException shows its own message");
            AssertOk(await caught.GetAsync("/whoami"), "(anonymous)", "the refused client is not signed in");
            AssertOk(await caught.GetAsync("/read"), "1", "the refused client keeps its anonymous session's data");
            AssertOk(await first.GetAsync("/whoami"), ana, "the first session stays");
            AssertOk(await second.GetAsync("/whoami"), ana, "the second session stays");
            Assert.That(await app.Manager.ListUserSessionsAsync(ana, app.Token), Has.Count.EqualTo(2), "the user's sessions");
        }
    }

    /// <summary>A signed-in session at the cap that gets a new ID (<c>Regenerate()</c>) is not a new session: nothing is revoked or refused.</summary>
    [Test]
    public virtual async Task Regenerating_a_session_at_the_cap_revokes_and_refuses_nothing()
    {
        foreach (var mode in new[] { SessionLimitMode.RevokeLeastRecentlyUsed, SessionLimitMode.Refuse })
        {
            var app = await StartCappedAppAsync(2, mode);
            var ana = NewUser("ana");
            var first = await LoginAsync(app, ana, "First/1.0");
            var second = await LoginAsync(app, ana, "Second/1.0");
            var before = first.Cookie;

            var regenerated = await first.GetAsync("/regenerate");

            using (Assert.EnterMultipleScope())
            {
                AssertOk(regenerated, "ok", $"{mode}: regenerating");
                Assert.That(first.Cookie, Is.Not.EqualTo(before), $"{mode}: a new ID");
                AssertOk(await first.GetAsync("/whoami"), ana, $"{mode}: the regenerated session stays signed in");
                AssertOk(await second.GetAsync("/whoami"), ana, $"{mode}: the other session stays signed in");
                Assert.That(await app.Manager.ListUserSessionsAsync(ana, app.Token), Has.Count.EqualTo(2), $"{mode}: the user's sessions");
            }
        }
    }

    /// <summary>16 sign-ins of one user at the same moment leave exactly the cap of signed-in sessions, the others revoked.</summary>
    [Test]
    public virtual Task Parallel_sign_ins_never_exceed_the_cap() => AssertParallelSignInsKeepTheCapAsync(SessionLimitMode.RevokeLeastRecentlyUsed);

    /// <summary>
    /// The same race with <see cref="SessionLimitMode.Refuse"/>: exactly the cap of sign-ins are answered 200 and stay signed
    /// in; the others are refused (409).
    /// </summary>
    [Test]
    public virtual Task Parallel_sign_ins_never_exceed_the_cap_in_Refuse_mode() => AssertParallelSignInsKeepTheCapAsync(SessionLimitMode.Refuse);

    private async Task AssertParallelSignInsKeepTheCapAsync(SessionLimitMode mode)
    {
        const int Cap = 3;
        var app = await StartCappedAppAsync(Cap, mode);
        var ana = NewUser("ana");
        var browsers = Enumerable.Range(0, ParallelLogins).Select(i => app.NewBrowser($"Client/{i}")).ToArray();

        using var start = new SemaphoreSlim(0);
        var logins = browsers.Select(async b =>
        {
            await start.WaitAsync(app.Token);
            return await b.GetAsync($"/login?user={Uri.EscapeDataString(ana)}");
        }).ToArray();
        start.Release(ParallelLogins);
        var replies = await Task.WhenAll(logins);

        var statuses = replies.Select(r => (int)r.Status).ToArray();
        var signedIn = 0;
        var answeredButSignedOut = 0;
        for (var i = 0; i < browsers.Length; i++)
        {
            if (browsers[i].Cookie is not null && (await browsers[i].GetAsync("/whoami")).Body == ana)
            {
                signedIn++;
            }
            else if (statuses[i] == 200)
            {
                answeredButSignedOut++;
            }
        }

        var listed = await app.Manager.ListUserSessionsAsync(ana, app.Token);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(signedIn, Is.EqualTo(Cap), $"clients still signed in after {ParallelLogins} parallel sign-ins with a cap of {Cap} ({mode}); statuses: {string.Join(",", statuses)}");
            Assert.That(listed, Has.Count.EqualTo(Cap), "the user's sessions as ISessionManager lists them");
            if (mode == SessionLimitMode.Refuse)
            {
                Assert.That(statuses, Is.All.EqualTo(200).Or.EqualTo(409), "each sign-in either succeeds or is refused");
                Assert.That(statuses.Count(s => s == 200), Is.EqualTo(Cap), "exactly the cap of sign-ins succeed");
                Assert.That(answeredButSignedOut, Is.Zero, "a sign-in answered 200 stays signed in: Refuse never cuts a session it let in");
            }
            else
            {
                Assert.That(statuses, Is.All.EqualTo(200), "with RevokeLeastRecentlyUsed every sign-in succeeds (and older ones are revoked)");
            }
        }
    }

    // Long idle timeout: the cap tests make many calls and must not race the short real-clock timeouts of the other tests.
    private Task<BehaviourApp> StartCappedAppAsync(int cap, SessionLimitMode mode) =>
        StartAppAsync(o =>
        {
            o.IdleTimeout = TimeSpan.FromMinutes(10);
            o.MaxSessionsPerUser = cap;
            o.SessionLimitMode = mode;
        });
}
