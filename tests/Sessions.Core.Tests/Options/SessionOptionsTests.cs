using NUnit.Framework;

namespace Sessions.Core.Tests.Options;

public sealed class SessionOptionsTests
{
    [Test]
    public void Defaults_match_the_design()
    {
        var options = new SessionOptions();

        Assert.That(options.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(20)));
        Assert.That(options.AbsoluteTimeout, Is.Null);
        Assert.That(options.TouchAfter, Is.EqualTo(TimeSpan.FromMinutes(1)));
        Assert.That(options.KeyPrefix, Is.EqualTo("session:"));
        Assert.That(options.HashIdsAtRest, Is.True);
        Assert.That(options.IdLengthBytes, Is.EqualTo(32));
        Assert.That(options.Format, Is.EqualTo(SessionFormat.Binary));
        Assert.That(options.ConcurrencyMode, Is.EqualTo(ConcurrencyMode.Merge));
        Assert.That(options.FailureMode, Is.EqualTo(FailureMode.Throw));
        Assert.That(options.PersistentByDefault, Is.False);
        Assert.That(options.SigningKeys, Is.Empty);
        Assert.That(options.ProtectPayloads, Is.False);
        Assert.That(options.ProtectionIgnoreRevocationErrors, Is.True, "issue 16: records under a revoked key still read");
    }

    [TestCase(20, 60, 60)]
    [TestCase(1, 60, 30)]
    [TestCase(2, 60, 60)]
    [TestCase(2, 61, 60)]
    [TestCase(10, 0, 0)]
    public void Effective_touch_after_is_capped_at_half_the_idle_timeout(int idleMinutes, int touchAfterSeconds, int expectedSeconds)
    {
        var options = new SessionOptions
        {
            IdleTimeout = TimeSpan.FromMinutes(idleMinutes),
            TouchAfter = TimeSpan.FromSeconds(touchAfterSeconds),
        };

        Assert.That(options.EffectiveTouchAfter, Is.EqualTo(TimeSpan.FromSeconds(expectedSeconds)));
    }
}
