using NUnit.Framework;

namespace Sessions.Conformance;

// The user index through ISessionManager: binding on login, listing, revoking, and deleting by ID.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>Signing in (bind the user, then <c>Regenerate()</c>) changes the ID, keeps the data, and binds the session.</summary>
    [Test]
    public virtual async Task Login_binds_the_user_and_regenerates_the_id()
    {
        var app = await StartAppAsync();
        var ana = NewUser("ana");
        var browser = await BrowserWithSessionAsync(app);
        var anonymous = browser.Cookie!;

        var login = await browser.GetAsync($"/login?user={ana}");

        Assert.That(login.IssuedCookie?.Value, Is.Not.Null.And.Not.EqualTo(anonymous), $"login must issue a new ID. {login.Describe()}");
        AssertOk(await browser.GetAsync("/whoami"), ana, "the bound user");
        AssertOk(await browser.GetAsync("/read"), "1", "the data kept through login");
        var info = await app.Manager.GetAsync(browser.Cookie!, app.Token);
        Assert.That(info?.UserId, Is.EqualTo(ana), "ISessionManager.GetAsync describes the bound session");
        Assert.That(await app.Manager.GetAsync(anonymous, app.Token), Is.Null, "the pre-login ID is retired");
    }

    /// <summary>A user's sessions are listed, each with the User-Agent of its sign-in and a handle that <c>GetHandle</c> gives for the current one.</summary>
    [Test]
    public virtual async Task A_users_sessions_are_listed_with_their_clients_and_handles()
    {
        var app = await StartAppAsync();
        var ana = NewUser("ana");
        var bob = NewUser("bob");
        var laptop = await LoginAsync(app, ana, "Laptop/1.0");
        var phone = await LoginAsync(app, ana, "Phone/2.0");
        await LoginAsync(app, bob, "Other/3.0");

        var sessions = await app.Manager.ListUserSessionsAsync(ana, app.Token);

        Assert.That(sessions.Select(s => s.ClientDescription), Is.EquivalentTo(new[] { "Laptop/1.0", "Phone/2.0" }), "ana's two sessions, by User-Agent");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sessions.Select(s => s.UserId), Is.All.EqualTo(ana));
            Assert.That(sessions.Select(s => s.Handle), Is.Unique);
            var laptopHandle = (await laptop.GetAsync("/handle")).Body;
            Assert.That(sessions.Single(s => s.ClientDescription == "Laptop/1.0").Handle, Is.EqualTo(laptopHandle), "GetHandle(current ID) in a request marks the current session");
            Assert.That(app.Manager.GetHandle(phone.Cookie!), Is.EqualTo(sessions.Single(s => s.ClientDescription == "Phone/2.0").Handle), "GetHandle(ID) outside a request");
            Assert.That(sessions.Select(s => s.Handle), Has.None.EqualTo(laptop.Cookie).And.None.EqualTo(phone.Cookie), "a handle is not the session ID");
        }
    }

    /// <summary>Revoking one session by its handle signs that client out and leaves the user's other session alone.</summary>
    [Test]
    public virtual async Task Revoking_one_session_signs_only_that_client_out()
    {
        var app = await StartAppAsync();
        var ana = NewUser("ana");
        var laptop = await LoginAsync(app, ana, "Laptop/1.0");
        var phone = await LoginAsync(app, ana, "Phone/2.0");
        var handle = app.Manager.GetHandle(laptop.Cookie!);

        Assert.That(await app.Manager.RevokeUserSessionAsync(ana, handle, app.Token), Is.True, "RevokeUserSessionAsync of a listed handle");

        AssertOk(await laptop.GetAsync("/whoami"), "(anonymous)", "the revoked client");
        AssertOk(await phone.GetAsync("/whoami"), ana, "the other client");
        var listed = await app.Manager.ListUserSessionsAsync(ana, app.Token);
        Assert.That(listed.Select(s => s.ClientDescription), Is.EqualTo(new[] { "Phone/2.0" }), "the list after revoking the laptop");
    }

    /// <summary>Revoking all of a user's sessions signs every one of the user's clients out, and no one else's.</summary>
    [Test]
    public virtual async Task Revoking_all_sessions_signs_every_client_of_the_user_out()
    {
        var app = await StartAppAsync();
        var ana = NewUser("ana");
        var bob = NewUser("bob");
        var laptop = await LoginAsync(app, ana, "Laptop/1.0");
        var phone = await LoginAsync(app, ana, "Phone/2.0");
        var other = await LoginAsync(app, bob, "Other/3.0");

        Assert.That(await app.Manager.RevokeUserSessionsAsync(ana, app.Token), Is.EqualTo(2), "RevokeUserSessionsAsync reports the sessions it ended");

        AssertOk(await laptop.GetAsync("/whoami"), "(anonymous)", "the laptop after revoking all");
        AssertOk(await phone.GetAsync("/whoami"), "(anonymous)", "the phone after revoking all");
        AssertOk(await other.GetAsync("/whoami"), bob, "another user's session");
        Assert.That(await app.Manager.ListUserSessionsAsync(ana, app.Token), Is.Empty, "the list after revoking all");
    }

    /// <summary>Logging out (<c>Destroy()</c>) and <c>Regenerate()</c> keep the user's list up to date.</summary>
    [Test]
    public virtual async Task Logout_and_regenerate_keep_the_users_list_up_to_date()
    {
        var app = await StartAppAsync();
        var ana = NewUser("ana");
        var laptop = await LoginAsync(app, ana, "Laptop/1.0");
        var phone = await LoginAsync(app, ana, "Phone/2.0");

        await laptop.GetAsync("/logout");
        await phone.GetAsync("/regenerate");

        var listed = await app.Manager.ListUserSessionsAsync(ana, app.Token);
        Assert.That(listed.Select(s => s.Handle), Is.EqualTo(new[] { app.Manager.GetHandle(phone.Cookie!) }), "only the phone's session, under its regenerated ID");
    }

    /// <summary>Deleting a session by ID through <see cref="ISessionManager"/> ends it; a second delete finds nothing.</summary>
    [Test]
    public virtual async Task Deleting_a_session_by_id_ends_it()
    {
        var app = await StartAppAsync();
        var ana = NewUser("ana");
        var browser = await LoginAsync(app, ana, "Laptop/1.0");
        var id = browser.Cookie!;
        Assert.That(await app.Manager.GetAsync(id, app.Token), Is.Not.Null, "setting up: the session exists");

        Assert.That(await app.Manager.DeleteAsync(id, app.Token), Is.True, "DeleteAsync of a live session");

        Assert.That(await app.Manager.DeleteAsync(id, app.Token), Is.False, "a second DeleteAsync");
        AssertOk(await browser.GetAsync("/whoami"), "(anonymous)", "the deleted session's client");
        Assert.That(await app.Manager.ListUserSessionsAsync(ana, app.Token), Is.Empty, "the user's list after the delete");
    }

    // User IDs are unique per test: apps of one fixture may share a store, and with it the users' indexes.
    private static string NewUser(string name) => $"{name}-{Guid.NewGuid():N}";

    private static async Task<Browser> LoginAsync(BehaviourApp app, string user, string userAgent)
    {
        var browser = app.NewBrowser(userAgent);
        var reply = await browser.GetAsync($"/login?user={Uri.EscapeDataString(user)}");
        Assert.That(reply.IssuedCookie, Is.Not.Null, $"setting up: login must issue a session cookie. {reply.Describe()}");
        return browser;
    }
}
