using NUnit.Framework;

namespace Sessions.Conformance;

// Two requests of one session at once: the concurrency modes, and no resurrection after a concurrent Destroy.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>In the default Merge mode, two concurrent requests that change different keys both keep their change.</summary>
    [Test]
    public virtual async Task Concurrent_changes_to_different_keys_are_merged_by_default()
    {
        var app = await StartAppAsync();

        var (first, second, browser) = await RaceTwoWritesAsync(app);

        AssertOk(first, "ok", "the first request to save");
        AssertOk(second, "ok", "the second request to save, which must merge its change onto the first's");
        AssertOk(await browser.GetAsync("/keys"), "a,b,n", "keys after both requests");
    }

    /// <summary>With <see cref="ConcurrencyMode.Fail"/>, the request that saves second gets 409 and its change is not stored.</summary>
    [Test]
    public virtual async Task Concurrency_mode_fail_answers_409_to_the_second_writer()
    {
        var app = await StartAppAsync(o => o.ConcurrencyMode = ConcurrencyMode.Fail);

        var (first, second, browser) = await RaceTwoWritesAsync(app);

        AssertOk(first, "ok", "the first request to save");
        Assert.That((int)second.Status, Is.EqualTo(409), $"the second writer must get 409 Conflict. {second.Describe()}");
        AssertOk(await browser.GetAsync("/keys"), "a,n", "keys after the conflict: only the first request's change");
    }

    /// <summary>With <see cref="ConcurrencyMode.LastWriteWins"/>, the second request's whole session replaces the first's.</summary>
    [Test]
    public virtual async Task Concurrency_mode_last_write_wins_keeps_the_last_saved_session()
    {
        var app = await StartAppAsync(o => o.ConcurrencyMode = ConcurrencyMode.LastWriteWins);

        var (first, second, browser) = await RaceTwoWritesAsync(app);

        AssertOk(first, "ok", "the first request to save");
        AssertOk(second, "ok", "the second request to save");
        AssertOk(await browser.GetAsync("/keys"), "b,n", "keys after last-write-wins: the second request's session as it saw it");
    }

    /// <summary>A long request that saves after its session was destroyed (logout meanwhile) does not bring it back.</summary>
    [Test]
    public virtual async Task A_save_after_a_concurrent_destroy_does_not_resurrect_the_session()
    {
        var app = await StartAppAsync();
        var browser = await BrowserWithSessionAsync(app);
        var id = browser.Cookie!;
        var gate = app.Gates["slow"];

        var slow = browser.GetAsync("/slow/slow?key=a&value=late");
        await gate.Entered.WaitAsync(app.Token);
        var logout = app.NewBrowser();
        logout.Cookie = id;
        var destroyed = await logout.GetAsync("/logout");
        Assert.That(destroyed.SessionCookie?.Deletes, Is.True, $"setting up: the logout must expire the cookie. {destroyed.Describe()}");
        gate.Release();
        var late = await slow;

        Assert.That(late.IssuedCookie, Is.Null, $"the late save must not issue an ID (a resurrected or new session). {late.Describe()}");
        Assert.That(await app.Manager.GetAsync(id, app.Token), Is.Null, "the destroyed session must stay deleted");
        var after = app.NewBrowser();
        after.Cookie = id;
        var read = await after.GetAsync("/keys");
        AssertOk(read, string.Empty, "the destroyed session's cookie after the late save");
        AssertNoIdIssued(read, "a read with the destroyed ID");
    }

    // One session (n = 1); two requests load it, then save in turn: the first sets a, the second b.
    private static async Task<(Reply First, Reply Second, Browser Browser)> RaceTwoWritesAsync(BehaviourApp app)
    {
        var browser = await BrowserWithSessionAsync(app);
        var gateA = app.Gates["a"];
        var gateB = app.Gates["b"];
        var a = browser.GetAsync("/slow/a?key=a&value=1");
        var b = browser.GetAsync("/slow/b?key=b&value=2");
        await Task.WhenAll(gateA.Entered, gateB.Entered).WaitAsync(app.Token);

        gateA.Release();
        var first = await a;
        gateB.Release();
        var second = await b;
        return (first, second, browser);
    }
}
