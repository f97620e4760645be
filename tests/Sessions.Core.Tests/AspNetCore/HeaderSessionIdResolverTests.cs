using Microsoft.AspNetCore.Http;
using NUnit.Framework;
using Sessions.AspNetCore;

namespace Sessions.Core.Tests.AspNetCore;

public sealed class HeaderSessionIdResolverTests
{
    [Test]
    public void Reads_the_id_from_the_x_session_id_header()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["X-Session-Id"] = "abc";

        Assert.That(new HeaderSessionIdResolver().ReadId(context), Is.EqualTo("abc"));
    }

    [Test]
    public void Reads_nothing_when_the_header_is_absent_empty_or_repeated()
    {
        var resolver = new HeaderSessionIdResolver();
        var absent = new DefaultHttpContext();
        var empty = new DefaultHttpContext();
        empty.Request.Headers["X-Session-Id"] = string.Empty;
        var repeated = new DefaultHttpContext();
        repeated.Request.Headers["X-Session-Id"] = new Microsoft.Extensions.Primitives.StringValues(["abc", "def"]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(resolver.ReadId(absent), Is.Null);
            Assert.That(resolver.ReadId(empty), Is.Null);
            Assert.That(resolver.ReadId(repeated), Is.Null, "two IDs are ambiguous: neither is trusted");
        }
    }

    [Test]
    public void Writes_the_id_to_the_response_header_and_no_cookie()
    {
        var context = new DefaultHttpContext();

        new HeaderSessionIdResolver().WriteId(context, "abc", DateTimeOffset.UtcNow.AddHours(1));

        Assert.That(context.Response.Headers["X-Session-Id"].ToString(), Is.EqualTo("abc"));
        Assert.That(context.Response.Headers.SetCookie, Is.Empty);
    }

    [Test]
    public void Clearing_sends_the_header_with_an_empty_value()
    {
        var context = new DefaultHttpContext();

        new HeaderSessionIdResolver().ClearId(context);

        Assert.That(context.Response.Headers.ContainsKey("X-Session-Id"), Is.True);
        Assert.That(context.Response.Headers["X-Session-Id"].ToString(), Is.Empty);
    }

    [Test]
    public void A_custom_header_name_is_used_both_ways()
    {
        var resolver = new HeaderSessionIdResolver("Api-Session");
        var context = new DefaultHttpContext();
        context.Request.Headers["X-Session-Id"] = "ignored";
        context.Request.Headers["Api-Session"] = "abc";

        Assert.That(resolver.HeaderName, Is.EqualTo("Api-Session"));
        Assert.That(resolver.ReadId(context), Is.EqualTo("abc"));
        resolver.WriteId(context, "def", null);
        Assert.That(context.Response.Headers["Api-Session"].ToString(), Is.EqualTo("def"));
        Assert.That(context.Response.Headers.ContainsKey("X-Session-Id"), Is.False);
    }

    [TestCase("")]
    [TestCase(" ")]
    public void A_blank_header_name_is_rejected(string name)
    {
        Assert.That(() => new HeaderSessionIdResolver(name), Throws.InstanceOf<ArgumentException>());
    }
}
