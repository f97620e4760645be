using NUnit.Framework;

namespace Sessions.Conformance;

// A request whose session another request regenerated meanwhile (issue 14, fault 3).
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>
    /// A slow request's write to a session that a sign-in regenerated meanwhile is not written to the new session through
    /// the old ID, does not bring the old one back, is reported as a lost race (409 in every
    /// <see cref="ConcurrencyMode"/>: the write was dropped), and leaves the cookie the sign-in set alone.
    /// </summary>
    /// <param name="mode">The concurrency mode.</param>
    [TestCase(ConcurrencyMode.Merge)]
    [TestCase(ConcurrencyMode.Fail)]
    [TestCase(ConcurrencyMode.LastWriteWins)]
    public virtual async Task A_write_that_lost_a_race_with_a_regenerate_answers_409_and_keeps_the_new_cookie(ConcurrencyMode mode)
    {
        var app = await StartAppAsync(o =>
        {
            WithoutExpiry(o);
            o.ConcurrencyMode = mode;
        });
        var browser = await BrowserWithSessionAsync(app);
        var old = browser.Cookie!;
        var gate = app.Gates["slow"];

        var slow = browser.GetAsync("/slow/slow?key=late&value=1");
        await gate.Entered.WaitAsync(app.Token);
        var user = "user-" + Guid.NewGuid().ToString("N");
        var login = await browser.GetAsync("/login?user=" + user);
        Assert.That(login.IssuedCookie, Is.Not.Null, $"setting up: the sign-in issues a new ID. {login.Describe()}");
        var renewed = browser.Cookie!;
        gate.Release();
        var late = await slow;

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)late.Status, Is.EqualTo(409), $"the dropped write must not be reported as a success. {late.Describe()}");
            Assert.That(late.SessionCookie, Is.Null, $"the late response must neither expire nor replace the cookie the sign-in set. {late.Describe()}");
            Assert.That(late.Body, Does.Not.StartWith("ok"), $"the error response holds only the error. {late.Describe()}");
        }

        Assert.That(browser.Cookie, Is.EqualTo(renewed), "the browser keeps the sign-in's cookie");
        AssertOk(await browser.GetAsync("/get?key=late"), "(none)", "the new session: the old ID's write must not land in it");
        AssertOk(await browser.GetAsync("/whoami"), user, "the new session is signed in");
        AssertOk(await browser.GetAsync("/read"), "1", "the new session keeps the data it had at sign-in");
        Assert.That(await app.Manager.GetAsync(old, app.Token), Is.Null, "the old ID's session must not come back");
    }
}
