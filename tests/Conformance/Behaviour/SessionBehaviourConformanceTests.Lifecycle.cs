using NUnit.Framework;

namespace Sessions.Conformance;

// The end of a session's data or of its ID: removing every key, Clear, Regenerate and Destroy.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>When the last key is removed the record is deleted and the cookie expired.</summary>
    [Test]
    public virtual async Task Removing_every_key_deletes_the_record_and_expires_the_cookie()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();
        await browser.GetAsync("/set?key=a&value=1");
        var id = browser.Cookie!;

        var reply = await browser.GetAsync("/remove?key=a");

        AssertCookieExpired(reply, "removing the last key");
        Assert.That(await app.Manager.GetAsync(id, app.Token), Is.Null, "the record must be deleted once the session holds nothing");
        var again = app.NewBrowser();
        again.Cookie = id;
        AssertOk(await again.GetAsync("/get?key=a"), "(none)", "the old cookie after the last key was removed");
    }

    /// <summary><see cref="Microsoft.AspNetCore.Http.ISession.Clear"/> deletes the record and expires the cookie.</summary>
    [Test]
    public virtual async Task Clear_deletes_the_record_and_expires_the_cookie()
    {
        var app = await StartAppAsync();
        var browser = app.NewBrowser();
        await browser.GetAsync("/set?key=a&value=1");
        await browser.GetAsync("/set?key=b&value=2");
        var id = browser.Cookie!;

        var reply = await browser.GetAsync("/clear");

        AssertCookieExpired(reply, "Clear()");
        Assert.That(await app.Manager.GetAsync(id, app.Token), Is.Null, "the record must be deleted by Clear()");
    }

    /// <summary><c>Regenerate()</c> issues a new ID, keeps the data, and the old ID stops working (answers 409 while it is "moved", and is not adopted).</summary>
    [Test]
    public virtual async Task Regenerate_issues_a_new_id_keeps_the_data_and_retires_the_old_id()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);
        var old = browser.Cookie!;

        var reply = await browser.GetAsync("/regenerate");

        Assert.That(reply.IssuedCookie, Is.Not.Null, $"Regenerate() must send the new ID. {reply.Describe()}");
        Assert.That(reply.IssuedCookie!.Value, Is.Not.EqualTo(old), "Regenerate() must change the cookie's value");
        AssertOk(await browser.GetAsync("/read"), "1", "the data under the new ID");

        var stale = app.NewBrowser();
        stale.Cookie = old;
        var staleReply = await stale.GetAsync("/read");

        // Within Sessions:MovedIdLifetime the old ID is "moved": a lost race (409), never a new session or the old data.
        Assert.That((int)staleReply.Status, Is.EqualTo(409), $"the old ID after Regenerate() is moved. {staleReply.Describe()}");
        Assert.That(staleReply.Body, Is.Not.EqualTo("1"), $"the old ID never reads the data. {staleReply.Describe()}");
        AssertNoIdIssued(staleReply, "a read with the retired ID");
        Assert.That(await app.Manager.GetAsync(old, app.Token), Is.Null, "the record under the old ID must be deleted");
    }

    /// <summary><c>Destroy()</c> deletes the record and expires the cookie; the old cookie then gives an empty session.</summary>
    [Test]
    public virtual async Task Destroy_deletes_the_record_and_expires_the_cookie()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);
        var old = browser.Cookie!;

        var reply = await browser.GetAsync("/logout");

        AssertCookieExpired(reply, "Destroy()");
        Assert.That(await app.Manager.GetAsync(old, app.Token), Is.Null, "the record must be deleted by Destroy()");
        var stale = app.NewBrowser();
        stale.Cookie = old;
        var staleReply = await stale.GetAsync("/read");
        AssertOk(staleReply, "0", "the old cookie after Destroy()");
        AssertNoIdIssued(staleReply, "a read with the destroyed ID");
    }

    private static void AssertCookieExpired(Reply reply, string what)
    {
        Assert.That((int)reply.Status, Is.EqualTo(200), $"{what}: status. {reply.Describe()}");
        Assert.That(reply.SessionCookie, Is.Not.Null, $"{what} must expire the session cookie. {reply.Describe()}");
        Assert.That(reply.SessionCookie!.Deletes, Is.True, $"{what} must expire the session cookie, not set a new one: {reply.SessionCookie}");
    }
}
