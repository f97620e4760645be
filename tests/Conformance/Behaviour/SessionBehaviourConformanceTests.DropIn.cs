using System.Diagnostics;
using NUnit.Framework;

namespace Sessions.Conformance;

// Drop-in and safe (issue 21): the framework's own session consumers, a non-secret ISession.Id, commits the client cannot
// cancel, routes that never use the session never wait for the store.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>
    /// MVC's TempData on the session, Post/Redirect/Get: the flash message set before a redirect is shown once, then gone.
    /// TempData saves after its result has written the body; on ASP.NET Core's own session that works, so it must here.
    /// </summary>
    [Test]
    public virtual async Task Mvc_TempData_on_the_session_shows_a_flash_message_once()
    {
        var app = await StartAppAsync(mvc: true);
        var browser = app.NewBrowser();

        var flash = await browser.GetAsync("/mvc/flash?msg=saved");
        Assert.That((int)flash.Status, Is.EqualTo(302), $"the flash action redirects. {flash.Describe()}");
        Assert.That(flash.IssuedCookie, Is.Not.Null, $"setting TempData starts a session. {flash.Describe()}");

        AssertOk(await browser.GetAsync("/mvc/peek"), "saved", "TempData.Peek keeps the message");
        AssertOk(await browser.GetAsync("/mvc/show"), "saved", "the flash message, shown after the redirect");
        AssertOk(await browser.GetAsync("/mvc/show"), "(none)", "the flash message, shown once only");
    }

    /// <summary>
    /// A late change (after the response started) whose save fails when the request ends cannot become an error response
    /// any more: the response stands, the failure is logged (event 1016), and the stored session is unchanged.
    /// </summary>
    [Test]
    public virtual async Task A_late_change_that_cannot_be_saved_is_logged_and_the_response_stands()
    {
        var app = await StartAppAsync(WithoutExpiry);
        var browser = app.NewBrowser();
        await browser.GetAsync("/set?key=x&value=early");

        Reply reply;
        try
        {
            reply = await browser.GetAsync("/late-then-outage");
        }
        finally
        {
            app.Backend.Failing = false;
        }

        Assert.That((int)reply.Status, Is.EqualTo(200), $"the response had started: it stands. {reply.Describe()}");
        Assert.That(reply.Body, Is.EqualTo("started;"), reply.Describe());
        Assert.That(app.Logs.Entries.Where(e => e.EventId.Id == 1016), Is.Not.Empty, "the failed late save is logged (1016)");
        AssertOk(await browser.GetAsync("/get?key=x"), "early", "the stored session, unchanged by the failed late save");
    }

    /// <summary>TempData read by a visitor without a session: nothing to save, no session started, no error.</summary>
    [Test]
    public virtual async Task Mvc_TempData_without_a_session_answers_and_starts_none()
    {
        var app = await StartAppAsync(mvc: true);
        var browser = app.NewBrowser();

        var show = await browser.GetAsync("/mvc/show");

        AssertOk(show, "(none)", "TempData without a session");
        AssertNoIdIssued(show, "reading empty TempData");
    }

    /// <summary>
    /// <c>ISession.Id</c> is a stable, non-secret identifier (the session's handle), not the cookie: sent as the cookie, it
    /// names no session, and it is what <see cref="ISessionManager.ListUserSessionsAsync"/> shows.
    /// </summary>
    [Test]
    public virtual async Task Session_Id_is_a_stable_handle_and_not_the_credential()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);
        var id = (await browser.GetAsync("/id")).Body;
        var again = (await browser.GetAsync("/id")).Body;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(id, Is.Not.Empty.And.Not.EqualTo(browser.Cookie), "ISession.Id must not be the session cookie");
            Assert.That(browser.Cookie, Does.Not.Contain(id), "ISession.Id must not be part of the session cookie");
            Assert.That(again, Is.EqualTo(id), "ISession.Id is stable across requests");
        }

        var thief = app.NewBrowser();
        thief.Cookie = id;
        AssertOk(await thief.GetAsync("/read"), "0", "a request that sends ISession.Id as its cookie gets no session");

        await browser.GetAsync("/login?user=ana");
        var handle = (await browser.GetAsync("/id")).Body;
        var listed = await app.Manager.ListUserSessionsAsync("ana", app.Token);
        Assert.That(listed.Select(s => s.Handle), Does.Contain(handle), "ISession.Id is the handle the manager lists (it changes at sign-in, with the ID)");
    }

    /// <summary>
    /// A client that disconnects after the endpoint ran cannot cancel its session changes: the commit runs to completion,
    /// bounded by the operation timeout, whatever the client does (dotnet/aspnetcore#11858; issue 21, fault 3).
    /// </summary>
    [Test]
    public virtual async Task A_client_that_disconnects_does_not_cancel_the_commit()
    {
        var app = await StartAppAsync(WithoutExpiry);
        var browser = await BrowserWithSessionAsync(app);
        var gate = app.Gates["disconnect"];
        using var client = new CancellationTokenSource();

        var request = browser.GetAsync("/hit-then-wait/disconnect", client.Token);
        await gate.Entered.WaitAsync(app.Token);
        await client.CancelAsync();
        gate.Release();
        Assert.That(
            async () => await app.Gates["disconnect-aborted"].Entered.WaitAsync(TimeSpan.FromSeconds(20), app.Token),
            Throws.Nothing,
            "setting up: the server must have seen the client disconnect (RequestAborted) before the endpoint returned");
        try
        {
            await request;
        }
        catch (OperationCanceledException)
        {
            // The client gave up: that is the point.
        }

        var n = "1";
        for (var deadline = Stopwatch.StartNew(); deadline.Elapsed < TimeSpan.FromSeconds(20) && n != "2"; await Task.Delay(50, app.Token))
        {
            n = (await browser.GetAsync("/read")).Body;
        }

        Assert.That(n, Is.EqualTo("2"), "the count the endpoint set before the client disconnected must be saved");
    }

    /// <summary>A route that never touches the session costs no store call, even with a session cookie; nor does a static file.</summary>
    [Test]
    public virtual async Task A_route_that_never_touches_the_session_costs_no_store_call()
    {
        var app = await StartAppAsync(WithoutExpiry);
        var browser = await BrowserWithSessionAsync(app);
        app.Backend.ResetCounts();

        AssertOk(await browser.GetAsync("/plain"), "ok", "/plain with a session cookie");
        var css = await browser.GetAsync(BehaviourApp.StaticFile);
        Assert.That((int)css.Status, Is.EqualTo(200), $"the static file. {css.Describe()}");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(app.Backend.Calls, Is.Zero, $"no store call for a route or file that never uses the session: {app.Backend.Describe()}");
            Assert.That(css.SessionCookie, Is.Null, $"the static file leaves the cookie alone. {css.Describe()}");
        }

        AssertOk(await browser.GetAsync("/read"), "1", "the session, still there");
    }

    /// <summary>
    /// With the store frozen, a route that never touches the session answers at once, even while 200 requests that use the
    /// session wait for the store: none of them holds a thread-pool thread while it waits.
    /// </summary>
    [Test]
    public virtual async Task A_frozen_store_delays_no_route_that_never_touches_the_session()
    {
        var app = await StartAppAsync(o => { WithoutExpiry(o); o.OperationTimeout = TimeSpan.FromSeconds(20); o.CircuitBreaker.Enabled = false; });
        var browser = await BrowserWithSessionAsync(app);
        AssertOk(await browser.GetAsync("/read"), "1", "setting up: /read uses the session");

        app.Backend.Frozen = true;
        List<Task<Reply>> waiting;
        TimeSpan plain;
        try
        {
            waiting = [.. Enumerable.Range(0, 200).Select(_ => browser.GetAsync("/read"))];
            var started = Stopwatch.StartNew();
            AssertOk(await browser.GetAsync("/plain"), "ok", "/plain with a session cookie while the store is frozen");
            plain = started.Elapsed;
            Assert.That(waiting.Count(t => t.IsCompleted), Is.Zero, "setting up: the requests that use the session are still waiting for the frozen store");
        }
        finally
        {
            app.Backend.Frozen = false;
        }

        Assert.That(plain, Is.LessThan(TimeSpan.FromSeconds(5)), "/plain must not wait for the store (20 s timeout) nor for threads held by requests that do");
        foreach (var reply in await Task.WhenAll(waiting))
        {
            AssertOk(reply, "1", "a request that waited for the store, once it answered");
        }
    }

    /// <summary>A session that simply expired while a request ran is reported as expired, not as ended by another request.</summary>
    [Test]
    public virtual async Task A_session_that_expires_during_a_request_says_so()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);
        var gate = app.Gates["expire"];

        var request = browser.GetAsync("/slow/expire?key=k&value=v");
        await gate.Entered.WaitAsync(app.Token);
        await app.AdvanceAsync(IdleTimeout + Slack);
        gate.Release();
        var reply = await request;

        Assert.That((int)reply.Status, Is.EqualTo(409), $"the changes of a request whose session expired meanwhile are not saved. {reply.Describe()}");
        Assert.That(reply.Body, Does.Contain("expired").And.Not.Contain("another request"), $"the body says the session expired. {reply.Describe()}");
    }

    /// <summary>Typed values hold NaN and ±Infinity (stored as JSON strings), which the web JSON defaults alone refuse.</summary>
    [Test]
    public virtual async Task Typed_values_hold_NaN_and_infinities()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();

        AssertOk(await browser.GetAsync("/json/special"), "NaN,Infinity,-Infinity,-0", "Get<double[]> after Set<double[]>");
    }
}
