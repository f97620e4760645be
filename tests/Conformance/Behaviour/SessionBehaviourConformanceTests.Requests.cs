using NUnit.Framework;

namespace Sessions.Conformance;

// What endpoint code sees: the standard ISession API, typed values, writes after the response started, and opting out.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>Code written against <see cref="Microsoft.AspNetCore.Http.ISession"/> (GetString/SetString, Keys, Remove, TryGetValue/Set) works unchanged.</summary>
    [Test]
    public virtual async Task The_standard_isession_api_works_unchanged()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();

        AssertOk(await browser.GetAsync("/set?key=greeting&value=h%C3%A9llo"), "ok", "SetString");
        AssertOk(await browser.GetAsync("/set?key=other&value=2"), "ok", "a second SetString");
        AssertOk(await browser.GetAsync("/get?key=greeting"), "héllo", "GetString in a later request");
        AssertOk(await browser.GetAsync("/keys"), "greeting,other", "Keys");
        AssertOk(await browser.GetAsync("/remove?key=other"), "ok", "Remove");
        AssertOk(await browser.GetAsync("/keys"), "greeting", "Keys after Remove");
        AssertOk(await browser.GetAsync("/get?key=missing"), "(none)", "GetString of a missing key");
        AssertOk(await browser.GetAsync("/bytes"), "same", "Set and TryGetValue with raw bytes");
        AssertOk(await browser.GetAsync("/keys"), "bytes,greeting", "Keys after storing raw bytes");
        AssertOk(await browser.GetAsync("/available"), "available", "IsAvailable");
    }

    /// <summary>Code that calls <c>LoadAsync</c> and <c>CommitAsync</c> itself, as ASP.NET Core's own sessions recommend, works unchanged.</summary>
    [Test]
    public virtual async Task Explicit_load_and_commit_work_unchanged()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();

        var first = await browser.GetAsync("/hit-explicit");

        AssertOk(first, "1", "first /hit-explicit");
        Assert.That(first.IssuedCookie, Is.Not.Null, $"a session saved by an explicit CommitAsync still gets its cookie. {first.Describe()}");
        AssertOk(await browser.GetAsync("/hit-explicit"), "2", "second /hit-explicit");
        AssertOk(await browser.GetAsync("/read"), "2", "/read after explicit commits");
    }

    /// <summary>Typed values round-trip through <c>Set&lt;T&gt;</c> and <c>Get&lt;T&gt;</c>, stored as System.Text.Json with the web defaults.</summary>
    [Test]
    public virtual async Task Typed_values_round_trip_as_json()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();

        AssertOk(await browser.GetAsync("/json/set?owner=ana"), "ok", "Set<T>");

        AssertOk(await browser.GetAsync("/json/get"), "ana|apple,pear|12.5", "Get<T> in a later request");
        var raw = await browser.GetAsync("/get?key=cart");
        Assert.That(raw.Body, Does.Contain("\"owner\":\"ana\""), $"stored as JSON with camelCase names (the web defaults). {raw.Describe()}");
    }

    /// <summary>
    /// Changing an existing session after the response started (as MVC's TempData does when its result has written the body)
    /// needs no new cookie: it is saved when the request ends, as on ASP.NET Core's own session (issue 21, fault 6).
    /// </summary>
    [Test]
    public virtual async Task Changing_an_existing_session_after_the_response_started_is_saved_when_the_request_ends()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();
        await browser.GetAsync("/set?key=x&value=early");

        var reply = await browser.GetAsync("/late");

        Assert.That((int)reply.Status, Is.EqualTo(200), reply.Describe());
        Assert.That(reply.Body, Does.StartWith("started;has-started;"), $"setting up: the endpoint must have started the response. {reply.Describe()}");
        Assert.That(reply.Body, Does.Contain("read early;no exception"), $"reading and changing an existing session after the response started works. {reply.Describe()}");
        AssertOk(await browser.GetAsync("/get?key=x"), "late", "the value written after the response started");
    }

    /// <summary>A session first used after the response started can be read (it is empty), and rejects a write with a clear <see cref="InvalidOperationException"/>.</summary>
    [Test]
    public virtual async Task Writing_an_unused_session_after_the_response_started_throws()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();

        var reply = await browser.GetAsync("/late-untouched");

        AssertLateWriteRejected(reply);
        Assert.That(reply.Body, Does.Contain("read (none);"), $"reading a session first used after the response started works (it is empty). {reply.Describe()}");
        AssertNoIdIssued(reply, "a write after the response started");
    }

    /// <summary>An endpoint marked <c>.WithoutSession()</c> has no session and costs no backend call, even when the request carries a session cookie.</summary>
    [Test]
    public virtual async Task An_endpoint_without_session_has_no_session_and_costs_no_backend_call()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);
        app.Backend.ResetCounts();

        var reply = await browser.GetAsync("/nosession");

        AssertNoSession(app, reply, ".WithoutSession()");
    }

    /// <summary>A path under <see cref="SessionOptions.ExcludedPaths"/> has no session and costs no backend call.</summary>
    [Test]
    public virtual async Task An_excluded_path_has_no_session_and_costs_no_backend_call()
    {
        var app = await StartAppAsync(o => o.ExcludedPaths.Add(BehaviourEndpoints.ExcludedPrefix));
        var browser = await BrowserWithSessionAsync(app);
        app.Backend.ResetCounts();

        var reply = await browser.GetAsync(BehaviourEndpoints.ExcludedPrefix + "/probe");

        AssertNoSession(app, reply, "an excluded path");
        AssertOk(await browser.GetAsync("/read"), "1", "the session outside the excluded path");
    }

    private static void AssertLateWriteRejected(Reply reply)
    {
        Assert.That((int)reply.Status, Is.EqualTo(200), reply.Describe());
        Assert.That(reply.Body, Does.StartWith("started;has-started;"), $"setting up: the endpoint must have started the response. {reply.Describe()}");
        Assert.That(reply.Body, Does.Contain("InvalidOperationException: "), $"a write after the response started must throw InvalidOperationException. {reply.Describe()}");
        Assert.That(reply.Body, Does.Contain("session").IgnoreCase, $"the exception's message must say the session can no longer change. {reply.Describe()}");
    }

    private static void AssertNoSession(BehaviourApp app, Reply reply, string what)
    {
        AssertOk(reply, "session unavailable; server session unavailable", $"{what}: HttpContext.Session and GetServerSession()");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(app.Backend.Calls, Is.Zero, $"{what} must cost no backend call: {app.Backend.Describe()}");
            Assert.That(reply.SetCookies, Is.Empty, reply.Describe());
            Assert.That(reply.Vary, Does.Not.Contain("Cookie"), reply.Describe());
        }
    }
}
