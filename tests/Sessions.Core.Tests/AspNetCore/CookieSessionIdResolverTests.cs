using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using NUnit.Framework;
using Sessions.AspNetCore;

namespace Sessions.Core.Tests.AspNetCore;

public sealed class CookieSessionIdResolverTests
{
    [Test]
    public void Reads_the_id_from_the_session_cookie_among_others()
    {
        var context = Request(cookie: "theme=dark; session=abc; other=1");

        Assert.That(Resolver().ReadId(context), Is.EqualTo("abc"));
    }

    [TestCase(null)]
    [TestCase("theme=dark")]
    [TestCase("session=")]
    [TestCase("sessionx=abc")]
    public void Reads_nothing_without_a_non_empty_session_cookie(string? cookie)
    {
        Assert.That(Resolver().ReadId(Request(cookie: cookie)), Is.Null);
    }

    [Test]
    public void The_configured_name_is_the_one_read()
    {
        var resolver = Resolver(c => c.Name = "sid");

        Assert.That(resolver.CookieName, Is.EqualTo("sid"));
        Assert.That(resolver.ReadId(Request(cookie: "session=abc")), Is.Null);
        Assert.That(resolver.ReadId(Request(cookie: "sid=abc")), Is.EqualTo("abc"));
    }

    [Test]
    public void With_the_host_prefix_only_the_prefixed_cookie_is_read()
    {
        var resolver = Resolver(c => c.UseHostPrefix = true);

        Assert.That(resolver.CookieName, Is.EqualTo("__Host-session"));
        Assert.That(resolver.ReadId(Request(cookie: "session=abc")), Is.Null, "a cookie without the prefix may have been set by a subdomain");
        Assert.That(resolver.ReadId(Request(cookie: "__Host-session=abc")), Is.EqualTo("abc"));
    }

    [Test]
    public void Writes_the_cookie_with_the_defaults()
    {
        var context = Request();

        Resolver().WriteId(context, "abc", null);

        var cookie = SetCookie(context);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cookie.Name.Value, Is.EqualTo("session"));
            Assert.That(cookie.Value.Value, Is.EqualTo("abc"));
            Assert.That(cookie.HttpOnly, Is.True);
            Assert.That(cookie.SameSite, Is.EqualTo(Microsoft.Net.Http.Headers.SameSiteMode.Lax));
            Assert.That(cookie.Path.Value, Is.EqualTo("/"));
            Assert.That(cookie.Secure, Is.False, "plain HTTP");
            Assert.That(cookie.Domain.HasValue, Is.False);
            Assert.That(cookie.Expires, Is.Null, "a browser-session cookie");
            Assert.That(cookie.MaxAge, Is.Null);
        }
    }

    [TestCase(CookieSecurePolicy.SameAsRequest, false, false)]
    [TestCase(CookieSecurePolicy.SameAsRequest, true, true)]
    [TestCase(CookieSecurePolicy.Always, false, true)]
    [TestCase(CookieSecurePolicy.None, true, false)]
    public void Secure_follows_the_policy(CookieSecurePolicy policy, bool https, bool secure)
    {
        var context = Request(https: https);

        Resolver(c => c.SecurePolicy = policy).WriteId(context, "abc", null);

        Assert.That(SetCookie(context).Secure, Is.EqualTo(secure));
    }

    [Test]
    public void The_host_prefix_forces_secure_root_path_and_no_domain()
    {
        var context = Request();

        // The validator rejects these settings with the prefix; the resolver must not emit a cookie browsers refuse anyway.
        Resolver(c =>
        {
            c.UseHostPrefix = true;
            c.Path = "/app";
            c.Domain = "example.com";
            c.SecurePolicy = CookieSecurePolicy.None;
        }).WriteId(context, "abc", null);

        var cookie = SetCookie(context);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cookie.Name.Value, Is.EqualTo("__Host-session"));
            Assert.That(cookie.Secure, Is.True);
            Assert.That(cookie.Path.Value, Is.EqualTo("/"));
            Assert.That(cookie.Domain.HasValue, Is.False);
        }
    }

    [Test]
    public void Configured_attributes_are_written()
    {
        var context = Request();

        Resolver(c =>
        {
            c.Name = "sid";
            c.Path = "/app";
            c.Domain = "example.com";
            c.SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict;
            c.HttpOnly = false;
        }).WriteId(context, "abc", null);

        var cookie = SetCookie(context);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cookie.Name.Value, Is.EqualTo("sid"));
            Assert.That(cookie.Path.Value, Is.EqualTo("/app"));
            Assert.That(cookie.Domain.Value, Is.EqualTo("example.com"));
            Assert.That(cookie.SameSite, Is.EqualTo(Microsoft.Net.Http.Headers.SameSiteMode.Strict));
            Assert.That(cookie.HttpOnly, Is.False);
        }
    }

    [Test]
    public void A_persistent_session_gets_an_expiry()
    {
        var context = Request();
        var expires = new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero);

        Resolver().WriteId(context, "abc", expires);

        Assert.That(SetCookie(context).Expires, Is.EqualTo(expires));
    }

    [Test]
    public void Clearing_expires_the_cookie_on_the_same_path_and_domain()
    {
        var context = Request();

        Resolver(c =>
        {
            c.Path = "/app";
            c.Domain = "example.com";
        }).ClearId(context);

        var cookie = SetCookie(context);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cookie.Name.Value, Is.EqualTo("session"));
            Assert.That(cookie.Value.Value, Is.Empty);
            Assert.That(cookie.Expires, Is.LessThan(DateTimeOffset.UtcNow), "an expiry in the past tells the browser to drop the cookie");
            Assert.That(cookie.Path.Value, Is.EqualTo("/app"), "a cookie is only deleted by a Set-Cookie with the same path");
            Assert.That(cookie.Domain.Value, Is.EqualTo("example.com"), "and the same domain");
        }
    }

    [Test]
    public void Arguments_are_checked()
    {
        Assert.That(() => new CookieSessionIdResolver(null!), Throws.ArgumentNullException);
        Assert.That(() => Resolver().ReadId(null!), Throws.ArgumentNullException);
        Assert.That(() => Resolver().WriteId(null!, "abc", null), Throws.ArgumentNullException);
        Assert.That(() => Resolver().ClearId(null!), Throws.ArgumentNullException);
    }

    internal static CookieSessionIdResolver Resolver(Action<SessionCookieOptions>? configure = null)
    {
        var options = new SessionOptions();
        configure?.Invoke(options.Cookie);
        return new CookieSessionIdResolver(Microsoft.Extensions.Options.Options.Create(options));
    }

    internal static DefaultHttpContext Request(string? cookie = null, bool https = false)
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = https ? "https" : "http";
        context.Request.Host = new HostString("localhost");
        if (cookie is not null)
        {
            context.Request.Headers.Cookie = cookie;
        }

        return context;
    }

    internal static SetCookieHeaderValue SetCookie(HttpContext context)
    {
        var headers = context.Response.Headers.SetCookie;
        Assert.That(headers.Count, Is.EqualTo(1), $"expected one Set-Cookie, got: {headers}");
        return SetCookieHeaderValue.Parse(headers[0]);
    }
}
