using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Sessions.Conformance;

// When the cookie is sent, with which attributes, and what it costs: the first rows of the behaviour table.
public abstract partial class SessionBehaviourConformanceTests
{
    private static readonly Regex s_plainId = new("^[A-Za-z0-9_-]{43}$", RegexOptions.CultureInvariant);
    private static readonly Regex s_signedId = new("^[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}$", RegexOptions.CultureInvariant);

    /// <summary>A request without a cookie that never touches the session costs no backend call, sets no cookie and adds no <c>Vary</c>.</summary>
    [Test]
    public virtual async Task An_untouched_session_without_a_cookie_costs_no_backend_call_and_sets_nothing()
    {
        var app = await StartAppAsync();

        var reply = await app.NewBrowser().GetAsync("/plain");

        AssertOk(reply, "ok", "/plain");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(app.Backend.Calls, Is.Zero, $"backend calls for a request that never used the session: {app.Backend.Describe()}");
            Assert.That(reply.SetCookies, Is.Empty, reply.Describe());
            Assert.That(reply.Vary, Does.Not.Contain("Cookie"), reply.Describe());
        }
    }

    /// <summary>A session that was read but is empty is not saved and sets no cookie; the response varies by cookie.</summary>
    [Test]
    public virtual async Task A_session_read_but_empty_is_not_saved_and_varies_by_cookie()
    {
        var app = await StartAppAsync();

        var reply = await app.NewBrowser().GetAsync("/read");

        AssertOk(reply, "0", "/read without a session");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(app.Backend.Sets, Is.Zero, $"an empty session must not be saved: {app.Backend.Describe()}");
            Assert.That(reply.SetCookies, Is.Empty, reply.Describe());
            Assert.That(reply.Vary, Does.Contain("Cookie"), $"a response that read the session depends on the cookie. {reply.Describe()}");
        }
    }

    /// <summary>A modified session is saved and the cookie set with the defaults: <c>session</c>, HttpOnly, SameSite=Lax, Path=/, not Secure on HTTP, no expiry.</summary>
    [Test]
    public virtual async Task A_modified_session_sets_the_cookie_with_the_defaults()
    {
        var app = await StartAppAsync();

        var reply = await app.NewBrowser().GetAsync("/hit");

        AssertOk(reply, "1", "/hit");
        var cookie = reply.SessionCookie;
        Assert.That(cookie, Is.Not.Null, $"a modified session must set the cookie named \"session\". {reply.Describe()}");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cookie!.Name, Is.EqualTo("session"));
            Assert.That(cookie.Value, Does.Match(s_plainId), "the value is the ID: 32 random bytes in base64url");
            Assert.That(cookie.HttpOnly, Is.True, $"HttpOnly: {cookie}");
            Assert.That(cookie.SameSite, Is.EqualTo("lax").IgnoreCase, $"SameSite: {cookie}");
            Assert.That(cookie.Path, Is.EqualTo("/"), $"Path: {cookie}");
            Assert.That(cookie.Secure, Is.False, $"no Secure on a plain HTTP request: {cookie}");
            Assert.That(cookie.Domain, Is.Null, $"host-only by default: {cookie}");
            Assert.That(cookie.Expires, Is.Null, $"a browser-session cookie by default: {cookie}");
            Assert.That(reply.Vary, Does.Contain("Cookie"), reply.Describe());
            Assert.That(app.Backend.Sets, Is.GreaterThanOrEqualTo(1), $"the session must be saved: {app.Backend.Describe()}");
        }
    }

    /// <summary>On an HTTPS request the cookie is marked Secure.</summary>
    [Test]
    public virtual async Task The_cookie_is_secure_on_https_requests()
    {
        var app = await StartAppAsync(https: true);

        var reply = await app.NewBrowser().GetAsync("/hit");

        Assert.That(reply.IssuedCookie, Is.Not.Null, reply.Describe());
        Assert.That(reply.IssuedCookie!.Secure, Is.True, $"Secure on an HTTPS request: {reply.IssuedCookie}");
    }

    /// <summary>The <c>__Host-</c> option names the cookie <c>__Host-session</c>, with Secure and Path=/ even on HTTP, and no Domain.</summary>
    [Test]
    public virtual async Task The_host_prefix_option_gives_a_secure_root_cookie_named_host_session()
    {
        var app = await StartAppAsync(o => o.Cookie.UseHostPrefix = true);
        var browser = app.NewBrowser();

        var reply = await browser.GetAsync("/hit");

        var cookie = reply.SessionCookie;
        Assert.That(cookie, Is.Not.Null, $"expected a cookie named __Host-session. {reply.Describe()}");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cookie!.Name, Is.EqualTo("__Host-session"));
            Assert.That(cookie.Secure, Is.True, $"a __Host- cookie must be Secure: {cookie}");
            Assert.That(cookie.Path, Is.EqualTo("/"), $"a __Host- cookie must have Path=/: {cookie}");
            Assert.That(cookie.Domain, Is.Null, $"a __Host- cookie must have no Domain: {cookie}");
        }

        AssertOk(await browser.GetAsync("/hit"), "2", "second /hit with the __Host-session cookie");
    }

    /// <summary>The counter of the README persists across requests through the cookie.</summary>
    [Test]
    public virtual async Task A_counter_persists_across_requests()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();

        AssertOk(await browser.GetAsync("/hit"), "1", "first /hit");
        var first = browser.Cookie;
        AssertOk(await browser.GetAsync("/hit"), "2", "second /hit");
        AssertOk(await browser.GetAsync("/hit"), "3", "third /hit");
        AssertOk(await browser.GetAsync("/read"), "3", "/read");

        Assert.That(browser.Cookie, Is.EqualTo(first), "the session keeps its ID while it is only modified");
    }

    /// <summary>
    /// A save of a session whose cookie the client already holds sends no cookie: a page's request that saved just before
    /// a sign-in in another request, and whose reply arrives after the sign-in's, would otherwise put the pre-sign-in
    /// cookie back in the browser and sign the user out. A persistent cookie is sent again only when its expiry moves by
    /// more than TouchAfter.
    /// </summary>
    [Test]
    public virtual async Task A_save_of_a_session_the_client_holds_sends_no_cookie()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();
        AssertOk(await browser.GetAsync("/hit"), "1", "first /hit");
        var saved = await browser.GetAsync("/hit");
        AssertOk(saved, "2", "second /hit");
        Assert.That(saved.SetCookies, Is.Empty, $"a save of a session whose cookie the client holds sends none. {saved.Describe()}");

        var persisted = await browser.GetAsync("/persist");
        Assert.That(persisted.IssuedCookie, Is.Not.Null, $"making the session persistent sends the cookie with its expiry. {persisted.Describe()}");
        var savedPersistent = await browser.GetAsync("/hit");
        AssertOk(savedPersistent, "4", "/hit on the persistent session");
        if (app.ControllableTime)
        {
            // (In real time a busy machine may take longer than TouchAfter between the two requests, and then the
            // cookie is rightly sent again.)
            Assert.That(savedPersistent.SetCookies, Is.Empty, $"a persistent cookie whose expiry moves by less than TouchAfter is not sent again. {savedPersistent.Describe()}");
            await app.AdvanceAsync(PastTouchAfter);
            var slid = await browser.GetAsync("/hit");
            AssertOk(slid, "5", "/hit past TouchAfter");
            Assert.That(slid.IssuedCookie, Is.Not.Null, $"past TouchAfter the persistent cookie is sent with its new expiry. {slid.Describe()}");
        }
    }

    /// <summary>A session made persistent gets a cookie with an expiry equal to the session's (now + idle timeout).</summary>
    [Test]
    public virtual async Task A_persistent_session_sets_a_cookie_with_the_sessions_expiry()
    {
        var app = await StartAppAsync();

        var reply = await app.NewBrowser().GetAsync("/persist");

        AssertPersistentCookie(app, reply);
    }

    /// <summary><see cref="SessionOptions.PersistentByDefault"/> gives every new session a persistent cookie.</summary>
    [Test]
    public virtual async Task Persistent_by_default_gives_new_sessions_a_persistent_cookie()
    {
        var app = await StartAppAsync(o => o.PersistentByDefault = true);

        var reply = await app.NewBrowser().GetAsync("/hit");

        AssertPersistentCookie(app, reply);
    }

    /// <summary>With signing keys configured, the cookie holds the ID and its HMAC (<c>{id}.{mac}</c>), and it is accepted back.</summary>
    [Test]
    public virtual async Task With_signing_keys_the_cookie_holds_a_signed_id_that_is_accepted_back()
    {
        var key = NewSigningKey();
        var app = await StartAppAsync(o => o.SigningKeys.Add(key));
        var browser = app.NewBrowser();

        var reply = await browser.GetAsync("/hit");

        Assert.That(reply.IssuedCookie?.Value, Does.Match(s_signedId), $"a signed ID: {{43 chars}}.{{43 chars}}. {reply.Describe()}");
        AssertOk(await browser.GetAsync("/hit"), "2", "second /hit with the signed cookie");
    }

    private void AssertPersistentCookie(BehaviourApp app, Reply reply)
    {
        var expected = app.Now + IdleTimeout;
        var cookie = reply.IssuedCookie;
        Assert.That(cookie, Is.Not.Null, reply.Describe());
        Assert.That(cookie!.Expires, Is.Not.Null, $"a persistent session's cookie must have an expiry: {cookie}");

        // Cookie dates have a resolution of one second.
        Assert.That(cookie.Expires!.Value, Is.EqualTo(expected).Within(Slack + TimeSpan.FromSeconds(1)), $"the cookie expires with the session (now + idle timeout): {cookie}");
    }
}
