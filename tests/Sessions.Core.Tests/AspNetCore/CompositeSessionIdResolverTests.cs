using Microsoft.AspNetCore.Http;
using NUnit.Framework;
using Sessions.AspNetCore;

namespace Sessions.Core.Tests.AspNetCore;

public sealed class CompositeSessionIdResolverTests
{
    [Test]
    public void Reads_from_the_first_transport_that_has_an_id()
    {
        var resolver = HeaderThenCookie();
        var both = Request(header: "from-header", cookie: "from-cookie");
        var cookieOnly = Request(cookie: "from-cookie");

        Assert.That(resolver.ReadId(both), Is.EqualTo("from-header"));
        Assert.That(resolver.ReadId(cookieOnly), Is.EqualTo("from-cookie"));
        Assert.That(resolver.ReadId(Request()), Is.Null);
    }

    [Test]
    public void The_order_of_the_transports_decides()
    {
        var resolver = new CompositeSessionIdResolver(CookieSessionIdResolverTests.Resolver(), new HeaderSessionIdResolver());

        Assert.That(resolver.ReadId(Request(header: "from-header", cookie: "from-cookie")), Is.EqualTo("from-cookie"));
    }

    [Test]
    public void An_id_that_came_in_the_header_is_written_back_in_the_header_only()
    {
        var resolver = HeaderThenCookie();
        var context = Request(header: "old");
        resolver.ReadId(context);

        resolver.WriteId(context, "new", null);

        Assert.That(context.Response.Headers["X-Session-Id"].ToString(), Is.EqualTo("new"));
        Assert.That(context.Response.Headers.SetCookie, Is.Empty);
    }

    [Test]
    public void An_id_that_came_in_the_cookie_is_written_back_in_the_cookie_only()
    {
        var resolver = HeaderThenCookie();
        var context = Request(cookie: "old");
        resolver.ReadId(context);

        resolver.WriteId(context, "new", null);

        Assert.That(context.Response.Headers.ContainsKey("X-Session-Id"), Is.False);
        Assert.That(CookieSessionIdResolverTests.SetCookie(context).Value.Value, Is.EqualTo("new"));
    }

    [Test]
    public void A_new_id_goes_out_through_every_transport()
    {
        var resolver = HeaderThenCookie();
        var context = Request();
        resolver.ReadId(context);

        resolver.WriteId(context, "new", null);

        Assert.That(context.Response.Headers["X-Session-Id"].ToString(), Is.EqualTo("new"));
        Assert.That(CookieSessionIdResolverTests.SetCookie(context).Value.Value, Is.EqualTo("new"));
    }

    [Test]
    public void Clearing_goes_back_the_way_the_id_came()
    {
        var resolver = HeaderThenCookie();
        var byHeader = Request(header: "old");
        var byCookie = Request(cookie: "old");
        var none = Request();
        resolver.ReadId(byHeader);
        resolver.ReadId(byCookie);
        resolver.ReadId(none);

        resolver.ClearId(byHeader);
        resolver.ClearId(byCookie);
        resolver.ClearId(none);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(byHeader.Response.Headers.ContainsKey("X-Session-Id"), Is.True);
            Assert.That(byHeader.Response.Headers.SetCookie, Is.Empty);
            Assert.That(byCookie.Response.Headers.ContainsKey("X-Session-Id"), Is.False);
            Assert.That(byCookie.Response.Headers.SetCookie, Has.Count.EqualTo(1));
            Assert.That(none.Response.Headers.ContainsKey("X-Session-Id"), Is.True);
            Assert.That(none.Response.Headers.SetCookie, Has.Count.EqualTo(1));
        }
    }

    [Test]
    public void The_source_is_remembered_per_request()
    {
        var resolver = HeaderThenCookie();
        var first = Request(header: "old");
        var second = Request();
        resolver.ReadId(first);
        resolver.ReadId(second);

        resolver.WriteId(second, "new", null);

        Assert.That(second.Response.Headers.SetCookie, Has.Count.EqualTo(1), "another request's header source must not leak into this one");
        Assert.That(second.Response.Headers["X-Session-Id"].ToString(), Is.EqualTo("new"));
    }

    [Test]
    public void At_least_one_transport_and_no_null_is_required()
    {
        Assert.That(() => new CompositeSessionIdResolver(), Throws.ArgumentException);
        Assert.That(() => new CompositeSessionIdResolver(new HeaderSessionIdResolver(), null!), Throws.ArgumentException);
        Assert.That(() => new CompositeSessionIdResolver(null!), Throws.ArgumentNullException);
    }

    private static CompositeSessionIdResolver HeaderThenCookie() =>
        new(new HeaderSessionIdResolver(), CookieSessionIdResolverTests.Resolver());

    private static DefaultHttpContext Request(string? header = null, string? cookie = null)
    {
        var context = CookieSessionIdResolverTests.Request(cookie: cookie is null ? null : $"session={cookie}");
        if (header is not null)
        {
            context.Request.Headers["X-Session-Id"] = header;
        }

        return context;
    }
}
