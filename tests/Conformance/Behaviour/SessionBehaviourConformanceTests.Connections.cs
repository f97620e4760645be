using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace Sessions.Conformance;

// Sessions in SignalR hubs and Blazor circuits (AddConnectionSessions): the hub rows over real SignalR connections to the
// app on TestServer; the circuit rows through a circuit's own services opened inside a hub invocation, as Blazor's hub
// opens them (KitSessionHub.OpenCircuit). samples/BlazorApp's browser tests run a real circuit in Chromium.
public abstract partial class SessionBehaviourConformanceTests
{
    /// <summary>A hub method reads and writes the session whose cookie the connection was opened with; requests see its writes and it sees theirs.</summary>
    [Test]
    public virtual async Task A_hub_method_uses_the_session_of_the_cookie_its_connection_sent([Values] bool webSockets)
    {
        var app = await StartAppAsync(connections: true);
        var browser = app.NewBrowser();
        await browser.GetAsync("/set?key=a&value=from-request");
        await using var hub = await app.ConnectHubAsync(browser.Cookie, webSockets);

        Assert.That(await hub.InvokeAsync<string?>("Get", "a", app.Token), Is.EqualTo("from-request"));
        await hub.InvokeAsync("Set", "b", "from-hub", app.Token);
        AssertOk(await browser.GetAsync("/get?key=b"), "from-hub", "a request after the hub's write");

        await browser.GetAsync("/set?key=a&value=changed");
        Assert.That(await hub.InvokeAsync<string?>("Get", "a", app.Token), Is.EqualTo("changed"), "the hub's next access reads the store again");
    }

    /// <summary>A connection opened without a session cookie has no session, and cannot start one (it cannot set the cookie).</summary>
    [Test]
    public virtual async Task A_hub_connection_without_a_session_reads_nothing_and_cannot_start_one()
    {
        var app = await StartAppAsync(connections: true);
        await using var hub = await app.ConnectHubAsync(cookie: null);

        Assert.That(await hub.InvokeAsync<bool>("IsNew", app.Token), Is.True);
        var refused = Assert.ThrowsAsync<HubException>(async () => await hub.InvokeAsync("Set", "a", "1", app.Token));
        Assert.That(refused!.Message, Does.Contain("cannot set the session cookie"));
        Assert.That(app.Backend.Sets, Is.Zero, "nothing may be stored for a connection without a session");
    }

    /// <summary>Sign-in (UserId) and <c>Regenerate()</c> need a new cookie: a hub refuses them with what to do instead.</summary>
    [Test]
    public virtual async Task A_hub_refuses_sign_in_and_regenerate_with_what_to_do_instead()
    {
        var app = await StartAppAsync(connections: true);
        var browser = await BrowserWithSessionAsync(app);
        await using var hub = await app.ConnectHubAsync(browser.Cookie);

        var signIn = Assert.ThrowsAsync<HubException>(async () => await hub.InvokeAsync("SignIn", "ada", app.Token));
        var regenerate = Assert.ThrowsAsync<HubException>(async () => await hub.InvokeAsync("Regenerate", app.Token));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(signIn!.Message, Does.Contain("UserId").And.Contain("HTTP request"));
            Assert.That(regenerate!.Message, Does.Contain("Regenerate()").And.Contain("HTTP request"));
        }

        AssertOk(await browser.GetAsync("/whoami"), "(anonymous)", "after the refused sign-in");
    }

    /// <summary>A session destroyed by a request (sign-out) is gone for the hub on its next access, and stays gone.</summary>
    [Test]
    public virtual async Task A_hub_sees_a_sign_out_on_its_next_access()
    {
        var ada = NewUser("ada");
        var app = await StartAppAsync(connections: true);
        var browser = app.NewBrowser();
        await browser.GetAsync($"/login?user={ada}");
        await using var hub = await app.ConnectHubAsync(browser.Cookie);
        Assert.That(await hub.InvokeAsync<string?>("User", app.Token), Is.EqualTo(ada));

        await browser.GetAsync("/logout");

        Assert.That(await hub.InvokeAsync<bool>("IsNew", app.Token), Is.True, "the destroyed session must not be served to the hub");
        var refused = Assert.ThrowsAsync<HubException>(async () => await hub.InvokeAsync("Set", "a", "1", app.Token));
        Assert.That(refused!.Message, Does.Contain("ended"));
    }

    /// <summary>A hub's change and a request's change to other keys made at the same time are both kept (merge).</summary>
    [Test]
    public virtual async Task A_hub_change_and_a_concurrent_request_change_both_survive()
    {
        var app = await StartAppAsync(connections: true);
        var browser = app.NewBrowser();
        await browser.GetAsync("/set?key=a&value=1");
        await using var hub = await app.ConnectHubAsync(browser.Cookie);

        var hubWrite = hub.InvokeAsync("SetAfterGate", "connections-merge", "from-hub", "h", app.Token);
        await app.Gates["connections-merge"].Entered.WaitAsync(app.Token);
        await browser.GetAsync("/set?key=from-request&value=r");
        app.Gates["connections-merge"].Release();
        await hubWrite;

        AssertOk(await browser.GetAsync("/keys"), "a,from-hub,from-request", "after the hub's and the request's concurrent changes");
    }

    /// <summary>With <c>EndConnectionWhenSessionEnds</c>, the server closes a hub connection that finds its session ended.</summary>
    [Test]
    public virtual async Task With_EndConnectionWhenSessionEnds_a_hub_connection_is_closed_when_its_session_ends()
    {
        var ada = NewUser("ada");
        var app = await StartAppAsync(sessions: b => b.AddConnectionSessions(o => o.EndConnectionWhenSessionEnds = true), connections: true);
        var browser = app.NewBrowser();
        await browser.GetAsync($"/login?user={ada}");
        await using var hub = await app.ConnectHubAsync(browser.Cookie);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        Assert.That(await hub.InvokeAsync<string?>("User", app.Token), Is.EqualTo(ada));

        await browser.GetAsync("/logout");
        try
        {
            await hub.InvokeAsync<string?>("User", app.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HubException or InvalidOperationException)
        {
            // The invocation that saw the end may be cancelled by the close.
        }

        await closed.Task.WaitAsync(TimeSpan.FromSeconds(30), app.Token);
        Assert.That(hub.State, Is.EqualTo(HubConnectionState.Disconnected));
    }

    /// <summary>A connection opened with an ID a sign-in had just replaced never follows it to the new ID: its session ended.</summary>
    [Test]
    public virtual async Task A_hub_connection_with_an_id_replaced_by_sign_in_does_not_follow_it()
    {
        var ada = NewUser("ada");
        var app = await StartAppAsync(connections: true);
        var browser = await BrowserWithSessionAsync(app);
        var old = browser.Cookie;
        await browser.GetAsync($"/login?user={ada}");
        await using var hub = await app.ConnectHubAsync(old);

        Assert.That(await hub.InvokeAsync<string?>("User", app.Token), Is.Null, "the old ID must not lead to the signed-in session");
        var refused = Assert.ThrowsAsync<HubException>(async () => await hub.InvokeAsync("Set", "a", "1", app.Token));
        Assert.That(refused!.Message, Does.Contain("new ID"));
        AssertOk(await browser.GetAsync("/whoami"), ada, "the signed-in session under its new ID");
    }

    /// <summary>Work a hub method starts and does not await gets no session once the method has returned: it is not the browser's.</summary>
    [Test]
    public virtual async Task Work_a_hub_method_leaves_behind_gets_no_session()
    {
        var app = await StartAppAsync(connections: true);
        var browser = await BrowserWithSessionAsync(app);
        await using var hub = await app.ConnectHubAsync(browser.Cookie);

        await hub.InvokeAsync("StartBackgroundLoad", "connections-background", app.Token);
        app.Gates["connections-background"].Release();

        var refused = Assert.CatchAsync<InvalidOperationException>(async () => await app.Circuits.Background!.WaitAsync(app.Token));
        Assert.That(refused!.Message, Does.Contain("background job"));
    }

    /// <summary>A circuit reads and writes the session its connection was opened with, from outside any request.</summary>
    [Test]
    public virtual async Task A_circuit_uses_the_session_its_connection_opened_with()
    {
        var app = await StartAppAsync(connections: true);
        var browser = app.NewBrowser();
        await browser.GetAsync("/set?key=a&value=1");
        var circuit = await OpenCircuitAsync(app, browser.Cookie);

        var session = await circuit.Sessions.LoadAsync(app.Token);
        Assert.That(session.GetString("a"), Is.EqualTo("1"));
        Assert.That(session.IsNew, Is.False);
        session.SetString("b", "2");
        await session.CommitAsync(app.Token);
        AssertOk(await browser.GetAsync("/get?key=b"), "2", "a request after the circuit's commit");

        await browser.GetAsync("/set?key=a&value=3");
        Assert.That((await circuit.Sessions.LoadAsync(app.Token)).GetString("a"), Is.EqualTo("3"), "each load reads the store again");
    }

    /// <summary>A circuit whose session is signed out sees it on its next access: empty, and writes refused with why.</summary>
    [Test]
    public virtual async Task A_circuit_sees_a_sign_out_on_its_next_access()
    {
        var ada = NewUser("ada");
        var app = await StartAppAsync(connections: true);
        var browser = app.NewBrowser();
        await browser.GetAsync($"/login?user={ada}");
        var circuit = await OpenCircuitAsync(app, browser.Cookie);
        var before = await circuit.Sessions.LoadAsync(app.Token);
        Assert.That(before.UserId, Is.EqualTo(ada));

        await browser.GetAsync("/logout");

        var after = await circuit.Sessions.LoadAsync(app.Token);
        Assert.That(after.IsNew, Is.True, "the circuit must not be served the destroyed session");
        Assert.That(after.UserId, Is.Null);
        var refused = Assert.Catch<InvalidOperationException>(() => after.SetString("a", "1"));
        Assert.That(refused!.Message, Does.Contain("ended"));

        // The snapshot taken before the sign-out cannot bring the session back either.
        before.SetString("a", "1");
        Assert.ThrowsAsync<SessionConflictException>(async () => await before.CommitAsync(app.Token));
        Assert.That(await app.Manager.ListUserSessionsAsync(ada, app.Token), Is.Empty, "the session must stay ended");
    }

    /// <summary>A circuit cannot start a session, regenerate it, sign in or out, or change its persistence: each throws with what to do.</summary>
    [Test]
    public virtual async Task A_circuit_refuses_what_needs_a_new_cookie()
    {
        var app = await StartAppAsync(connections: true);
        var anonymous = await OpenCircuitAsync(app, cookie: null);
        var none = await anonymous.Sessions.LoadAsync(app.Token);
        Assert.That(none.IsNew, Is.True);
        Assert.That(Assert.Catch<InvalidOperationException>(() => none.SetString("a", "1"))!.Message, Does.Contain("HTTP request"));

        var browser = await BrowserWithSessionAsync(app);
        var circuit = await OpenCircuitAsync(app, browser.Cookie);
        var session = await circuit.Sessions.LoadAsync(app.Token);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Assert.Catch<InvalidOperationException>(session.Regenerate)!.Message, Does.Contain("HTTP request"));
            Assert.That(Assert.Catch<InvalidOperationException>(() => session.UserId = "ada")!.Message, Does.Contain("HTTP request"));
            Assert.That(Assert.Catch<InvalidOperationException>(() => session.IsPersistent = !session.IsPersistent)!.Message, Does.Contain("HTTP request"));
        }

        Assert.That(app.Backend.Sets, Is.EqualTo(1), $"only the request's session may have been stored ({app.Backend.Describe()})");
    }

    /// <summary>
    /// An open, connected circuit keeps its session alive past the idle timeout (keep-alive touches), never past the
    /// absolute timeout; a disconnected one does not.
    /// </summary>
    [Test]
    public virtual async Task A_connected_circuit_keeps_its_session_alive_within_the_absolute_timeout()
    {
        var absolute = IdleTimeout * 3;
        var app = await StartAppAsync(
            o => o.AbsoluteTimeout = absolute,
            // The default tick (a third of the idle timeout) on the manual clock; in real time a finer one, for margin on a busy machine.
            sessions: b => b.AddConnectionSessions(o => o.KeepAliveInterval = SupportsControllableTime ? null : IdleTimeout / 6),
            connections: true);
        var browser = await BrowserWithSessionAsync(app);
        var id = browser.Cookie!;
        var circuit = await OpenCircuitAsync(app, id);

        // Twice the idle timeout with no request: the circuit's ticks keep the session. On the manual clock each step is
        // one tick (the default interval, a third of the idle timeout).
        var step = SupportsControllableTime ? IdleTimeout / 3 : IdleTimeout / 6;
        for (var elapsed = TimeSpan.Zero; elapsed < IdleTimeout * 2; elapsed += step)
        {
            await AdvanceAndLetTicksRunAsync(app, step, tickExpected: true);
        }

        Assert.That(await app.Manager.GetAsync(id, app.Token), Is.Not.Null, $"the connected circuit should have kept its session alive ({app.Backend.Describe()})");
        Assert.That(app.Backend.Touches, Is.GreaterThan(0), "keeping the session alive takes touches");

        // The absolute timeout is the end, ticks or not.
        for (var elapsed = IdleTimeout * 2; elapsed < absolute + Slack + step; elapsed += step)
        {
            // Once the session is over the circuit stops ticking.
            await AdvanceAndLetTicksRunAsync(app, step, tickExpected: elapsed + step < absolute);
        }

        Assert.That((await circuit.Sessions.LoadAsync(app.Token)).IsNew, Is.True, "past the absolute timeout the session is over");
    }

    /// <summary>A circuit whose browser is disconnected does not keep the session alive: it idles out as without a circuit.</summary>
    [Test]
    public virtual async Task A_disconnected_circuit_lets_its_session_idle_out()
    {
        var app = await StartAppAsync(connections: true);
        var browser = await BrowserWithSessionAsync(app);
        var id = browser.Cookie!;
        var circuit = await OpenCircuitAsync(app, id);
        await circuit.ConnectionDownAsync(app.Token);

        var step = IdleTimeout / 3;
        for (var elapsed = TimeSpan.Zero; elapsed < IdleTimeout + Slack + step; elapsed += step)
        {
            await AdvanceAndLetTicksRunAsync(app, step, tickExpected: false);
        }

        Assert.That(await app.Manager.GetAsync(id, app.Token), Is.Null, "a disconnected circuit must not keep the session alive");
        Assert.That(app.Backend.Touches, Is.Zero, $"no keep-alive touches while disconnected ({app.Backend.Describe()})");
    }

    /// <summary>A store outage fails a circuit's access with <see cref="SessionBackendException"/> (for the component to show); the next access after it works.</summary>
    [Test]
    public virtual async Task A_store_outage_fails_a_circuit_access_clearly_and_the_circuit_recovers()
    {
        var app = await StartAppAsync(connections: true);
        var browser = await BrowserWithSessionAsync(app);
        var circuit = await OpenCircuitAsync(app, browser.Cookie);

        app.Backend.Failing = true;
        try
        {
            Assert.ThrowsAsync<SessionBackendException>(async () => await circuit.Sessions.LoadAsync(app.Token));
        }
        finally
        {
            app.Backend.Failing = false;
        }

        var session = await LoadWhenTheBreakerLetsThroughAsync(app, circuit);
        Assert.That(session.GetInt32("n"), Is.EqualTo(1));
    }

    private static async Task<KitCircuit> OpenCircuitAsync(BehaviourApp app, string? cookie)
    {
        await using var hub = await app.ConnectHubAsync(cookie);
        var name = await hub.InvokeAsync<string>("OpenCircuit", app.Token);
        return app.Circuits[name];
    }

    // Moves the clock by one step, then gives a keep-alive tick (a timer on the app's clock) that fired time to finish.
    private static async Task AdvanceAndLetTicksRunAsync(BehaviourApp app, TimeSpan step, bool tickExpected)
    {
        var calls = app.Backend.Calls;
        await app.AdvanceAsync(step);
        if (app.ControllableTime)
        {
            // A tick runs on the thread pool: wait for its read (or, where none is expected, a little, so one would show).
            for (var i = 0; i < (tickExpected ? 400 : 4) && app.Backend.Calls == calls; i++)
            {
                await Task.Delay(25, app.Token);
            }

            await Task.Delay(50, app.Token);
        }
    }

    // After an outage the breaker may refuse calls for its break time; the circuit's next access after that succeeds.
    private static async Task<Sessions.AspNetCore.IServerSession> LoadWhenTheBreakerLetsThroughAsync(BehaviourApp app, KitCircuit circuit)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return await circuit.Sessions.LoadAsync(app.Token);
            }
            catch (SessionBackendException) when (DateTime.UtcNow < deadline)
            {
                await app.AdvanceAsync(TimeSpan.FromSeconds(1));
                await Task.Delay(100, app.Token);
            }
        }
    }
}
