using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace Sessions.Conformance;

// The backend is unreachable (simulated by the kit's wrapper): FailureMode.Throw and Continue, and recovery.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>With <see cref="FailureMode.Throw"/> (the default), a request whose session cannot be loaded gets 503 with a clear message, and nothing is written.</summary>
    [Test]
    public virtual async Task An_outage_answers_503_with_a_clear_message_when_a_session_cannot_be_loaded()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);

        app.Backend.Failing = true;
        var reply = await browser.GetAsync("/hit");
        app.Backend.Failing = false;

        AssertUnavailable(reply);
        AssertOk(await browser.GetAsync("/read"), "1", "the session after the outage: the failed request changed nothing");
    }

    /// <summary>With <see cref="FailureMode.Throw"/>, a new session that cannot be saved gets 503, and no cookie for a session that does not exist.</summary>
    [Test]
    public virtual async Task An_outage_answers_503_when_a_new_session_cannot_be_saved()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();

        app.Backend.Failing = true;
        var reply = await browser.GetAsync("/hit");
        app.Backend.Failing = false;

        AssertUnavailable(reply);
        Assert.That(browser.Cookie, Is.Null, "no cookie for a session that was not saved");
    }

    /// <summary>
    /// With <see cref="FailureMode.Continue"/>, a request during an outage gets an empty, read-only session: it succeeds, its
    /// writes are dropped with a logged warning, its cookie is left alone, and the stored session is intact afterwards.
    /// </summary>
    [Test]
    public virtual async Task Failure_mode_continue_serves_an_empty_read_only_session_during_an_outage()
    {
        var app = await StartAppAsync(o => o.FailureMode = FailureMode.Continue);
        var browser = await BrowserWithSessionAsync(app);
        AssertOk(await browser.GetAsync("/hit"), "2", "setting up: n = 2");
        var id = browser.Cookie;

        app.Backend.Failing = true;
        var hit = await browser.GetAsync("/hit");
        var available = await browser.GetAsync("/available");
        var fresh = await app.NewBrowser().GetAsync("/hit");
        app.Backend.Failing = false;

        AssertOk(hit, "1", "/hit during the outage sees an empty session");
        AssertOk(available, "unavailable", "ISession.IsAvailable during the outage");
        AssertOk(fresh, "1", "/hit without a cookie during the outage");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(hit.SessionCookie, Is.Null, $"the client's cookie must be left alone during an outage. {hit.Describe()}");
            Assert.That(fresh.IssuedCookie, Is.Null, $"no cookie for a session that could not be saved. {fresh.Describe()}");
            Assert.That(browser.Cookie, Is.EqualTo(id));
            Assert.That(
                app.Logs.Entries.Where(e => e.Level >= LogLevel.Warning && e.Category.StartsWith("Sessions", StringComparison.Ordinal)),
                Is.Not.Empty,
                "a dropped write must be logged as a warning, never silently swallowed");
        }

        AssertOk(await browser.GetAsync("/read"), "2", "the session after the outage: the dropped write changed nothing");
    }

    /// <summary>When the backend comes back, the next request succeeds: no restart needed.</summary>
    [Test]
    public virtual async Task The_next_request_after_an_outage_succeeds()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);

        app.Backend.Failing = true;
        var during = await browser.GetAsync("/hit");
        var plain = await app.NewBrowser().GetAsync("/plain");
        app.Backend.Failing = false;

        Assert.That((int)during.Status, Is.EqualTo(503), $"setting up: the outage. {during.Describe()}");
        AssertOk(plain, "ok", "a request without a session is not affected by the outage");
        AssertOk(await browser.GetAsync("/hit"), "2", "the first request after the outage");
        AssertOk(await app.NewBrowser().GetAsync("/hit"), "1", "a new session after the outage");
    }

    private static void AssertUnavailable(Reply reply)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)reply.Status, Is.EqualTo(503), $"an unreachable backend means 503. {reply.Describe()}");
            Assert.That(reply.Header("Content-Type"), Does.StartWith("text/plain"), reply.Describe());
            Assert.That(reply.Body, Does.Contain("session").IgnoreCase, $"the body must say the session store is unavailable. {reply.Describe()}");
            Assert.That(reply.IssuedCookie, Is.Null, $"no cookie from a failed request. {reply.Describe()}");
        }
    }
}
