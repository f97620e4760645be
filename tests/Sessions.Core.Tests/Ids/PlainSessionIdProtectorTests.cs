using NUnit.Framework;
using Sessions.Ids;

namespace Sessions.Core.Tests.Ids;

public sealed class PlainSessionIdProtectorTests
{
    [Test]
    public void Plain_protector_sends_the_id_itself_and_reads_it_back()
    {
        var id = new SessionIdGenerator().CreateId();

        var value = PlainSessionIdProtector.Instance.Protect(id);
        var ok = PlainSessionIdProtector.Instance.TryUnprotect(value, out var back);

        Assert.That(value, Is.EqualTo(id));
        Assert.That(ok, Is.True);
        Assert.That(back, Is.EqualTo(id));
    }

    [Test]
    public void Plain_protector_rejects_an_empty_value()
    {
        var ok = PlainSessionIdProtector.Instance.TryUnprotect("", out var id);

        Assert.That(ok, Is.False);
        Assert.That(id, Is.Null);
    }
}
