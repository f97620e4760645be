using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace Sessions.Conformance;

// How the ID travels: a header for APIs, or header-or-cookie.
public abstract partial class SessionBehaviourConformanceTests
{
    private const string IdHeader = "X-Session-Id";

    /// <summary>With header IDs, a new session's ID comes back in <c>X-Session-Id</c> (no cookie) and is accepted from that request header.</summary>
    [Test]
    public virtual async Task Header_ids_are_returned_in_the_response_header_and_accepted_back()
    {
        var app = await StartAppAsync(sessions: b => b.UseHeaderIds());
        var client = app.NewBrowser();

        var first = await client.GetAsync("/hit");

        AssertOk(first, "1", "first /hit");
        var id = first.Header(IdHeader);
        Assert.That(id, Is.Not.Null.And.Not.Empty, $"a new session's ID must come back in {IdHeader}. {first.Describe()}");
        Assert.That(first.SetCookies, Is.Empty, $"header IDs set no cookie. {first.Describe()}");

        var second = await client.GetAsync("/hit", (IdHeader, id!));
        AssertOk(second, "2", $"/hit with the ID in {IdHeader}");
        Assert.That(second.SetCookies, Is.Empty, second.Describe());
        AssertOk(await client.GetAsync("/read"), "0", $"/read without {IdHeader}");
    }

    /// <summary>With header IDs, a session cookie is not a way in: the ID is only accepted from the header.</summary>
    [Test]
    public virtual async Task Header_ids_ignore_the_cookie()
    {
        var app = await StartAppAsync(sessions: b => b.UseHeaderIds());
        var client = app.NewBrowser();
        var id = (await client.GetAsync("/hit")).Header(IdHeader);
        Assert.That(id, Is.Not.Null.And.Not.Empty, "setting up a session");

        client.Cookie = id;
        AssertOk(await client.GetAsync("/read"), "0", "/read with the ID in a cookie only");
        client.Cookie = null;
        AssertOk(await client.GetAsync("/read", (IdHeader, id!)), "1", $"/read with the ID in {IdHeader}");
    }

    /// <summary>With header-or-cookie IDs, a new ID goes out both ways, and an ID is written back the way it arrived.</summary>
    [Test]
    public virtual async Task Header_or_cookie_ids_answer_each_client_the_way_it_asked()
    {
        var app = await StartAppAsync(sessions: b => b.UseHeaderOrCookieIds());
        var first = await app.NewBrowser().GetAsync("/hit");
        var id = first.Header(IdHeader);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(id, Is.Not.Null.And.Not.Empty, $"a new ID goes out in {IdHeader}. {first.Describe()}");
            Assert.That(first.IssuedCookie?.Value, Is.EqualTo(id), $"and in the cookie. {first.Describe()}");
        }

        var api = app.NewBrowser();
        var byHeader = await api.GetAsync("/hit", (IdHeader, id!));
        AssertOk(byHeader, "2", $"/hit with the ID in {IdHeader}");
        Assert.That(byHeader.SetCookies, Is.Empty, $"an ID that came in the header goes back in the header only. {byHeader.Describe()}");

        var browser = app.NewBrowser();
        browser.Cookie = id;
        var byCookie = await browser.GetAsync("/hit");
        AssertOk(byCookie, "3", "/hit with the ID in the cookie");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(byCookie.Header(IdHeader), Is.Null, $"an ID that came in the cookie goes back in the cookie only. {byCookie.Describe()}");
            Assert.That(byCookie.SetCookies, Is.Empty, $"an unchanged session cookie is not sent again. {byCookie.Describe()}");
        }

        // A new ID (a sign-in) is sent, the way the old one came.
        var signedIn = await browser.GetAsync("/regenerate");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(signedIn.IssuedCookie?.Value, Is.Not.Null.And.Not.EqualTo(id), $"a cookie client gets its new ID in the cookie. {signedIn.Describe()}");
            Assert.That(signedIn.Header(IdHeader), Is.Null, signedIn.Describe());
        }
    }
}
