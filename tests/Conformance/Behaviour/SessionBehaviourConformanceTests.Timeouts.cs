using NUnit.Framework;

namespace Sessions.Conformance;

// Idle and absolute timeouts, and the touch that slides an unmodified session's expiry.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>A session ends after the idle timeout without use; each use slides the expiry.</summary>
    [Test]
    public virtual async Task An_idle_session_expires_and_use_slides_its_expiry()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);

        await app.AdvanceAsync(IdleTimeout * 0.6);
        AssertOk(await browser.GetAsync("/read"), "1", "a read at 60% of the idle timeout");
        await app.AdvanceAsync(IdleTimeout * 0.6);
        AssertOk(await browser.GetAsync("/read"), "1", "a read at 120% of the idle timeout after creation, 60% after the last use (the read slid the expiry)");
        await app.AdvanceAsync(IdleTimeout + Slack);

        var reply = await browser.GetAsync("/read");
        AssertOk(reply, "0", "a read after the idle timeout without use");
        AssertNoIdIssued(reply, "a read of an expired session");
    }

    /// <summary>With an absolute timeout the session ends at created-at + absolute, however active it is.</summary>
    [Test]
    public virtual async Task The_absolute_timeout_ends_a_session_even_while_it_is_active()
    {
        var app = await StartAppAsync(o => o.AbsoluteTimeout = IdleTimeout * 1.5);
        var browser = await BrowserWithSessionAsync(app);

        await app.AdvanceAsync(IdleTimeout * 0.5);
        AssertOk(await browser.GetAsync("/hit"), "2", "a write at a third of the absolute timeout");
        await app.AdvanceAsync(IdleTimeout * 0.5);
        AssertOk(await browser.GetAsync("/hit"), "3", "a write at two thirds of the absolute timeout");

        // 1.6 × idle after creation: past the absolute deadline, yet only 0.6 × idle after the last write.
        await app.AdvanceAsync((IdleTimeout * 0.6) + Slack);
        var reply = await browser.GetAsync("/read");
        AssertOk(reply, "0", "a read after the absolute deadline of a session used recently");
        AssertNoIdIssued(reply, "a read of a session past its absolute deadline");
    }

    /// <summary>An unmodified access within <see cref="SessionOptions.TouchAfter"/> writes nothing: no touch, no save, no cookie.</summary>
    [Test]
    public virtual async Task An_unmodified_access_within_touch_after_writes_nothing()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();
        Assert.That((await browser.GetAsync("/persist")).IssuedCookie, Is.Not.Null, "setting up a persistent session");

        await app.AdvanceAsync(TouchAfter / 4);
        app.Backend.ResetCounts();
        var reply = await browser.GetAsync("/read");

        AssertOk(reply, "1", "/read");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.SessionCookie, Is.Null, $"nothing changed and the touch is not due: no cookie, even for a persistent session. {reply.Describe()}");
            Assert.That(app.Backend.Touches + app.Backend.Sets + app.Backend.Removes, Is.Zero, $"no backend write within TouchAfter: {app.Backend.Describe()}");
        }
    }

    /// <summary>An unmodified access after <see cref="SessionOptions.TouchAfter"/> extends the expiry with a touch, without rewriting the payload.</summary>
    [Test]
    public virtual async Task An_unmodified_access_after_touch_after_touches_without_rewriting()
    {
        // In real time, the kit's few-second idle timeout leaves too little room on a busy machine between "past TouchAfter"
        // and "before expiry", and between "past the first expiry" and "before the touched expiry": this test uses a longer
        // idle timeout and waits half of it each side, so each check has several seconds of margin.
        var idle = SupportsControllableTime ? IdleTimeout : Longest(IdleTimeout * 4, TimeSpan.FromSeconds(8));
        var touchAfter = SupportsControllableTime ? TouchAfter : idle / 8;
        var firstWait = SupportsControllableTime ? PastTouchAfter : idle / 2;
        var app = await StartAppAsync(o =>
        {
            o.IdleTimeout = idle;
            o.TouchAfter = touchAfter;
        });
        var browser = await BrowserWithSessionAsync(app);

        await app.AdvanceAsync(firstWait);
        app.Backend.ResetCounts();
        var reply = await browser.GetAsync("/read");

        AssertOk(reply, "1", "/read");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(app.Backend.Touches, Is.EqualTo(1), $"one touch once TouchAfter has passed: {app.Backend.Describe()}");
            Assert.That(app.Backend.Sets, Is.Zero, $"a touch must not rewrite the payload: {app.Backend.Describe()}");
            Assert.That(reply.SessionCookie, Is.Null, $"a browser-session cookie needs no refresh on a touch. {reply.Describe()}");
        }

        // The touch moved the expiry: past the first expiry, the session lives on.
        await app.AdvanceAsync(SupportsControllableTime ? (IdleTimeout * 0.6) + Slack : idle - firstWait + Slack);
        AssertOk(await browser.GetAsync("/read"), "1", "a read past the original expiry, after the touch");
    }

    private static TimeSpan Longest(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>A touch slides a persistent cookie's expiry with the session's: the cookie is re-sent with the new expiry.</summary>
    [Test]
    public virtual async Task A_touch_slides_a_persistent_cookies_expiry()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();
        var first = (await browser.GetAsync("/persist")).IssuedCookie;
        Assert.That(first?.Expires, Is.Not.Null, "setting up a persistent session");

        await app.AdvanceAsync(PastTouchAfter);
        app.Backend.ResetCounts();
        var reply = await browser.GetAsync("/read");

        AssertOk(reply, "1", "/read");
        var slid = reply.IssuedCookie;
        Assert.That(slid, Is.Not.Null, $"a touch of a persistent session must re-send the cookie with the new expiry. {reply.Describe()}");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(slid!.Value, Is.EqualTo(first!.Value), "a touch keeps the ID");
            Assert.That(slid.Expires, Is.GreaterThan(first.Expires), "the cookie's expiry slides");
            Assert.That(slid.Expires!.Value, Is.EqualTo(app.Now + IdleTimeout).Within(Slack + TimeSpan.FromSeconds(1)), "the cookie expires with the session (now + idle timeout)");
            Assert.That(app.Backend.Sets, Is.Zero, $"a touch must not rewrite the payload: {app.Backend.Describe()}");
        }
    }
}
