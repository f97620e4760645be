using NUnit.Framework;

namespace Sessions.Conformance;

// An outage fails only the routes that use the session (issue 14, fault 2).
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>
    /// With the store down, a request with a session cookie to a route that never touches the session is served normally,
    /// whether the cookie names a live session or an unknown one; its cookie is left alone.
    /// </summary>
    [Test]
    public virtual async Task An_outage_does_not_fail_a_route_that_never_touches_the_session()
    {
        var app = await StartAppAsync(WithoutExpiry);
        var browser = await BrowserWithSessionAsync(app);
        var stranger = app.NewBrowser();
        stranger.Cookie = NewUnknownId();

        app.Backend.Failing = true;
        var live = await browser.GetAsync("/plain");
        var unknown = await stranger.GetAsync("/plain");
        app.Backend.Failing = false;

        AssertOk(live, "ok", "/plain with a live session's cookie during an outage");
        AssertOk(unknown, "ok", "/plain with an unknown session ID during an outage");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(live.SessionCookie, Is.Null, $"the cookie must be left alone. {live.Describe()}");
            Assert.That(unknown.SessionCookie, Is.Null, $"the cookie must be left alone. {unknown.Describe()}");
        }

        AssertOk(await browser.GetAsync("/read"), "1", "the session after the outage");
    }

    /// <summary>With the store down, the same cookie on a route that reads the session gets 503 at its first use of the session.</summary>
    [Test]
    public virtual async Task An_outage_fails_a_route_at_its_first_use_of_the_session()
    {
        var app = await StartAppAsync(WithoutExpiry);
        var browser = await BrowserWithSessionAsync(app);

        app.Backend.Failing = true;
        var read = await browser.GetAsync("/read");
        app.Backend.Failing = false;

        Assert.That((int)read.Status, Is.EqualTo(503), $"/read uses the session, which could not be loaded. {read.Describe()}");
        Assert.That(read.SessionCookie, Is.Null, $"no cookie change from a failed request. {read.Describe()}");
        AssertOk(await browser.GetAsync("/read"), "1", "the session after the outage");
    }
}
