using NUnit.Framework;

namespace Sessions.Conformance;

// The old ID after a regenerate (issue 14, the rest of fault 3): a "moved" tombstone, and the regenerate's conditional write.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>
    /// A request sent with the pre-login cookie that arrives after the login finished finds the old ID "moved": a route
    /// that uses the session answers 409 (a lost race) with no <c>Set-Cookie</c>, so the browser keeps the signed-in cookie,
    /// nothing is written through the old ID, and a route that never uses the session is served normally.
    /// </summary>
    /// <param name="mode">The concurrency mode.</param>
    [TestCase(ConcurrencyMode.Merge)]
    [TestCase(ConcurrencyMode.Fail)]
    [TestCase(ConcurrencyMode.LastWriteWins)]
    public virtual async Task A_request_with_the_pre_login_cookie_after_the_login_answers_409_and_keeps_the_new_cookie(ConcurrencyMode mode)
    {
        var app = await StartAppAsync(o =>
        {
            WithoutExpiry(o);
            o.ConcurrencyMode = mode;
            o.MovedIdLifetime = TimeSpan.FromMinutes(1);
        });
        var browser = await BrowserWithSessionAsync(app);
        var old = browser.Cookie!;
        var user = "user-" + Guid.NewGuid().ToString("N");
        var login = await browser.GetAsync("/login?user=" + user);
        Assert.That(login.IssuedCookie, Is.Not.Null, $"setting up: the sign-in issues a new ID. {login.Describe()}");
        var renewed = browser.Cookie!;

        // The late requests: sent with the old cookie before the sign-in's response arrived.
        var late = app.NewBrowser();
        late.Cookie = old;
        var write = await late.GetAsync("/hit");
        var read = await late.GetAsync("/read");
        var plain = await late.GetAsync("/plain");

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)write.Status, Is.EqualTo(409), $"a write through the moved ID is a lost race. {write.Describe()}");
            Assert.That(write.SessionCookie, Is.Null, $"the late response must neither expire nor replace the sign-in's cookie. {write.Describe()}");
            Assert.That((int)read.Status, Is.EqualTo(409), $"a read through the moved ID is a lost race too, not a new empty session. {read.Describe()}");
            Assert.That(read.SessionCookie, Is.Null, $"no cookie on the late read either. {read.Describe()}");
            AssertOk(plain, "ok", "a route that never uses the session is served with the moved ID");
            Assert.That(plain.SessionCookie, Is.Null, $"and sets no cookie. {plain.Describe()}");
        }

        Assert.That(browser.Cookie, Is.EqualTo(renewed), "the browser keeps the sign-in's cookie");
        AssertOk(await browser.GetAsync("/whoami"), user, "the new session is signed in");
        AssertOk(await browser.GetAsync("/read"), "1", "the new session holds the data it had at sign-in, and no write through the old ID");
        Assert.That(await app.Manager.GetAsync(old, app.Token), Is.Null, "the old ID's session must not come back");
    }

    /// <summary>
    /// The old ID is recognised only for <see cref="SessionOptions.MovedIdLifetime"/>: after it, a request with it is an
    /// unknown ID (a new session with a new ID, never the old one's data), and the tombstone was never a session.
    /// </summary>
    [Test]
    public virtual async Task A_moved_id_is_an_unknown_id_once_its_lifetime_passed()
    {
        var lifetime = SupportsControllableTime ? TimeSpan.FromMinutes(1) : TimeSpan.FromSeconds(Math.Max(2, ExpiryResolution.TotalSeconds * 4));
        var app = await StartAppAsync(o =>
        {
            WithoutExpiry(o);
            o.MovedIdLifetime = lifetime;
        });
        var browser = await BrowserWithSessionAsync(app);
        var old = browser.Cookie!;
        AssertOk(await browser.GetAsync("/regenerate"), "ok", "setting up: regenerate");

        await app.AdvanceAsync(lifetime + Slack);

        var late = app.NewBrowser();
        late.Cookie = old;
        var reply = await late.GetAsync("/hit");
        AssertOk(reply, "1", "after the moved ID's lifetime, the old ID is unknown: a new session, without the old data");
        Assert.That(reply.IssuedCookie, Is.Not.Null, $"the new session gets a cookie. {reply.Describe()}");
        Assert.That(late.Cookie, Is.Not.EqualTo(old), "a new ID, never the old one");
        Assert.That(await app.Manager.GetAsync(old, app.Token), Is.Null, "the old ID holds no session");
        AssertOk(await browser.GetAsync("/read"), "1", "the regenerated session is untouched");
    }

    /// <summary>
    /// The tombstone is no session for the session manager: the user index lists only the new session, deleting the old ID
    /// reports no live session deleted (and removes the tombstone), and the listing is the same after a purge.
    /// </summary>
    [Test]
    public virtual async Task A_moved_id_is_not_listed_or_deleted_as_a_live_session()
    {
        var app = await StartAppAsync(o =>
        {
            WithoutExpiry(o);
            o.MovedIdLifetime = TimeSpan.FromMinutes(1);
        });
        var browser = app.NewBrowser();
        var user = "user-" + Guid.NewGuid().ToString("N");
        AssertOk(await browser.GetAsync("/login?user=" + user), "ok", "setting up: sign in");
        var signedIn = browser.Cookie!;
        AssertOk(await browser.GetAsync("/regenerate"), "ok", "regenerate the signed-in session");
        var renewed = browser.Cookie!;
        Assert.That(renewed, Is.Not.EqualTo(signedIn), "setting up: the regenerate issued a new ID");

        var listed = await app.Manager.ListUserSessionsAsync(user, app.Token);
        Assert.That(listed.Select(s => s.Handle), Is.EqualTo(new[] { app.Manager.GetHandle(renewed) }), "only the new session is listed, not the moved ID");

        await app.Manager.PurgeExpiredAsync(app.Token);
        listed = await app.Manager.ListUserSessionsAsync(user, app.Token);
        Assert.That(listed.Select(s => s.Handle), Is.EqualTo(new[] { app.Manager.GetHandle(renewed) }), "a purge changes nothing: the tombstone is not expired, and never a session");

        Assert.That(await app.Manager.DeleteAsync(signedIn, app.Token), Is.False, "deleting the moved ID deletes no live session");
        var late = app.NewBrowser();
        late.Cookie = signedIn;
        var reply = await late.GetAsync("/whoami");
        Assert.That(reply.Body, Is.Not.EqualTo(user), $"the moved ID never reaches the signed-in session. {reply.Describe()}");
        AssertOk(await browser.GetAsync("/whoami"), user, "the new session is still signed in");
    }

    /// <summary>
    /// Two app instances on one store: a write that lands (on the other instance) on the old record while a sign-in on the
    /// first instance runs is not lost. In Merge mode it moves into the new session with the sign-in; in Fail mode the
    /// sign-in answers 409 and the old session, with the write, stays as it was.
    /// </summary>
    /// <param name="mode">The concurrency mode.</param>
    [TestCase(ConcurrencyMode.Merge)]
    [TestCase(ConcurrencyMode.Fail)]
    public virtual async Task A_write_on_another_instance_during_a_sign_in_is_not_lost(ConcurrencyMode mode)
    {
        void Configure(SessionOptions o)
        {
            WithoutExpiry(o);
            o.ConcurrencyMode = mode;
            o.MovedIdLifetime = TimeSpan.FromMinutes(1);
        }

        var first = await StartAppAsync(Configure);
        var name = first.Store.BackendName;
        var shared = first.Backend.Inner;
        var second = await StartAppAsync(Configure, sessions: s => s.UseBackend(name, _ => new ObservedBackend(new SharedBackend(shared))));
        var browser = await BrowserWithSessionAsync(first);
        var old = browser.Cookie!;
        var other = second.NewBrowser();
        other.Cookie = old;
        var gate = first.Gates["login"];
        var user = "user-" + Guid.NewGuid().ToString("N");

        var login = browser.GetAsync("/slow-login/login?user=" + user);
        await gate.Entered.WaitAsync(first.Token);
        AssertOk(await other.GetAsync("/set?key=w&value=written"), "ok", "the write on the second instance, while the sign-in holds the old version");
        gate.Release();
        var signedIn = await login;

        if (mode == ConcurrencyMode.Fail)
        {
            Assert.That((int)signedIn.Status, Is.EqualTo(409), $"Fail mode: the sign-in conflicted with the write. {signedIn.Describe()}");
            Assert.That(browser.Cookie, Is.EqualTo(old), "the failed sign-in issues no new ID");
            AssertOk(await browser.GetAsync("/get?key=w"), "written", "the old session keeps the write");
            AssertOk(await browser.GetAsync("/whoami"), "(anonymous)", "and is not signed in");
            return;
        }

        AssertOk(signedIn, "ok", "Merge mode: the sign-in merges the write and succeeds");
        Assert.That(signedIn.IssuedCookie, Is.Not.Null, $"the sign-in issues a new ID. {signedIn.Describe()}");
        AssertOk(await browser.GetAsync("/get?key=w"), "written", "the write moved into the new session with the sign-in");
        AssertOk(await browser.GetAsync("/read"), "1", "the data from before the sign-in moved too");
        AssertOk(await browser.GetAsync("/whoami"), user, "the new session is signed in");
        Assert.That((int)(await other.GetAsync("/get?key=w")).Status, Is.EqualTo(409), "the old ID, on the other instance, is moved");
    }
}
