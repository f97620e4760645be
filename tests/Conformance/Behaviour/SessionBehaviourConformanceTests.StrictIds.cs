using NUnit.Framework;

namespace Sessions.Conformance;

// Strict mode: an ID the server did not issue, or no longer knows, is never adopted.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>A well-formed ID the server never issued is treated as no session; a write then gets a fresh ID, not the client's.</summary>
    [Test]
    public virtual async Task An_unknown_id_is_treated_as_no_session_and_never_adopted()
    {
        var app = await StartAppAsync();
        var unknown = NewUnknownId();

        await AssertTreatedAsNoSessionAsync(app, unknown, "an unknown ID");
    }

    /// <summary>A malformed cookie value is treated as no session, never an error.</summary>
    /// <param name="value">The cookie value.</param>
    [TestCase("x")]
    [TestCase("not-a-session-id")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 42 characters: one short
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*")]
    [TestCase("%00%01..%2F")]
    public virtual async Task A_malformed_id_is_treated_as_no_session(string value)
    {
        var app = await StartAppAsync();

        await AssertTreatedAsNoSessionAsync(app, value, $"the malformed value \"{value}\"");
    }

    /// <summary>With signing on, an ID with a tampered signature, without one, or signed by another key is treated as no session.</summary>
    [Test]
    public virtual async Task A_badly_signed_id_is_treated_as_no_session_and_never_adopted()
    {
        // Nothing here is about expiry: a long idle timeout, so that a busy machine's delays cannot expire the live session
        // before the last check (with a real-time store the kit's default idle timeout is a few seconds).
        static void Configure(SessionOptions o)
        {
            o.SigningKeys.Add(NewSigningKey());
            o.IdleTimeout = TimeSpan.FromMinutes(20);
            o.TouchAfter = TimeSpan.FromMinutes(5);
        }

        var app = await StartAppAsync(Configure);
        var other = await StartAppAsync(Configure);
        var browser = await BrowserWithSessionAsync(app);
        var signed = browser.Cookie!;
        var id = signed[..signed.IndexOf('.', StringComparison.Ordinal)];
        var mac = signed[(id.Length + 1)..];
        var tampered = $"{id}.{(mac[0] == 'A' ? 'B' : 'A')}{mac[1..]}";
        var signedElsewhere = (await BrowserWithSessionAsync(other)).Cookie!;

        var issued = new[]
        {
            await AssertTreatedAsNoSessionAsync(app, tampered, "an ID with a tampered signature"),
            await AssertTreatedAsNoSessionAsync(app, id, "the live ID without its signature"),
            await AssertTreatedAsNoSessionAsync(app, signedElsewhere, "an ID signed with another key"),
        };
        Assert.That(issued, Has.All.Match(s_signedId), "the fresh IDs are signed too");
        AssertOk(await browser.GetAsync("/read"), "1", "the correctly signed cookie still works");
    }

    /// <summary>An ID whose session expired is treated as no session; a write then gets a fresh ID.</summary>
    [Test]
    public virtual async Task An_expired_id_is_treated_as_no_session_and_never_adopted()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);

        await app.AdvanceAsync(IdleTimeout + Slack);

        await AssertTreatedAsNoSessionAsync(app, browser.Cookie!, "an expired session's ID");
    }

    // Reads show an empty session without issuing an ID; a write issues a new ID, different from the one presented.
    private static async Task<string> AssertTreatedAsNoSessionAsync(BehaviourApp app, string presented, string what)
    {
        var browser = app.NewBrowser();
        browser.Cookie = presented;
        var read = await browser.GetAsync("/read");
        AssertOk(read, "0", $"/read with {what}");
        AssertNoIdIssued(read, $"/read with {what}");

        browser.Cookie = presented;
        var write = await browser.GetAsync("/hit");
        AssertOk(write, "1", $"/hit with {what}: a fresh session");
        Assert.That(write.IssuedCookie, Is.Not.Null, $"/hit with {what} must issue a new ID. {write.Describe()}");
        Assert.That(IdPart(write.IssuedCookie!.Value), Is.Not.EqualTo(IdPart(presented)), $"/hit with {what}: the client's ID must never be adopted, signed or not");
        return write.IssuedCookie.Value;
    }

    private static string IdPart(string value) => value.Split('.')[0];
}
