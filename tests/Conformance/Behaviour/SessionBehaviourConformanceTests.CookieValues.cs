using NUnit.Framework;

namespace Sessions.Conformance;

// Several cookies with the session's name in one request (issue 14, fault 4).
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>
    /// A request that carries the session cookie twice (set for different paths or a parent domain; browsers send them in an
    /// order the app does not control), one live and one stale but well-formed, uses the live one, whichever comes first.
    /// </summary>
    /// <param name="liveFirst">Whether the live value comes first.</param>
    [TestCase(true)]
    [TestCase(false)]
    public virtual async Task Of_several_session_cookies_the_first_that_loads_is_used(bool liveFirst)
    {
        var app = await StartAppAsync(WithoutExpiry);
        var browser = await BrowserWithSessionAsync(app);
        var live = browser.Cookie!;
        var stale = NewUnknownId();
        var values = liveFirst ? $"{app.CookieName}={live}; {app.CookieName}={stale}" : $"{app.CookieName}={stale}; other=1; {app.CookieName}={live}";

        var read = await app.NewBrowser().GetAsync("/read", ("Cookie", values));
        var hit = await app.NewBrowser().GetAsync("/hit", ("Cookie", values));

        AssertOk(read, "1", $"/read with the cookies \"{values}\"");
        AssertNoIdIssued(read, "/read with a live session among the cookies");
        AssertOk(hit, "2", $"/hit with the cookies \"{values}\"");
        Assert.That(hit.IssuedCookie?.Value, Is.Null.Or.EqualTo(live), $"/hit must keep the live session's ID. {hit.Describe()}");
        AssertOk(await browser.GetAsync("/read"), "2", "the live session after the write");
    }
}
