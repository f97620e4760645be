using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Playwright;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.QuickStart.BrowserTests.Support;
using static Microsoft.Playwright.Assertions;

namespace Sessions.QuickStart.BrowserTests.Blazor;

/// <summary>
/// The BlazorApp sample in a real browser: its counter component (interactive server rendering, over a circuit), its
/// plain pages and endpoint, and its SignalR hub share one session; sign-out and outages reach the circuit.
/// </summary>
[TestFixture]
public sealed class BlazorBrowserTests
{
    private const string CookieName = "session";
    private readonly List<IBrowserContext> _contexts = [];
    private readonly List<IAsyncDisposable> _running = [];
    private SampleApp? _app;

    private SampleApp App => _app ?? throw new InvalidOperationException("BlazorApp is not running.");

    [OneTimeSetUp]
    public async Task StartAsync() => _app = await SampleApp.StartAsync("BlazorApp", "read");

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [TearDown]
    public async Task CloseAsync()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            TestContext.Out.WriteLine($"BlazorApp output so far:\n{App.Output}");
        }

        foreach (var context in _contexts)
        {
            await context.CloseAsync();
        }

        _contexts.Clear();
        foreach (var running in _running)
        {
            await running.DisposeAsync();
        }

        _running.Clear();
    }

    [Test]
    public async Task The_counter_component_and_a_plain_page_share_one_session()
    {
        var context = await NewContextAsync(App);
        var counter = await OpenCounterAsync(context);

        await ClickAsync(counter, "#increment", expectedCount: 1);
        await ClickAsync(counter, "#increment", expectedCount: 2);
        await ClickAsync(counter, "#increment", expectedCount: 3);

        // The plain endpoint and the static page read what the circuit wrote.
        Assert.That(await (await context.APIRequest.GetAsync("/read")).TextAsync(), Is.EqualTo("3"));
        var home = await context.NewPageAsync();
        await home.GotoAsync("/");
        await Expect(home.Locator("#n")).ToHaveTextAsync("3");

        // And the circuit sees what a request writes (the hub here), on its next access.
        await using var hub = await ConnectHubAsync(App, context);
        Assert.That(await hub.InvokeAsync<int>("Increment"), Is.EqualTo(4));
        await ClickAsync(counter, "#refresh", expectedCount: 4);
    }

    [Test]
    public async Task Two_tabs_see_each_others_changes()
    {
        var context = await NewContextAsync(App);
        var first = await OpenCounterAsync(context);
        var second = await OpenCounterAsync(context);

        await ClickAsync(first, "#increment", expectedCount: 1);
        await ClickAsync(first, "#increment", expectedCount: 2);
        await ClickAsync(second, "#refresh", expectedCount: 2);
        await ClickAsync(second, "#increment", expectedCount: 3);
        await ClickAsync(first, "#refresh", expectedCount: 3);
    }

    [Test]
    public async Task A_page_reload_keeps_the_state()
    {
        var context = await NewContextAsync(App);
        var page = await OpenCounterAsync(context);
        await ClickAsync(page, "#increment", expectedCount: 1);
        await ClickAsync(page, "#increment", expectedCount: 2);
        var cookie = await SessionCookieAsync(context);

        await page.ReloadAsync();
        await Expect(page.Locator("#mode")).ToHaveTextAsync("interactive");
        await Expect(page.Locator("#n")).ToHaveTextAsync("2");
        Assert.That((await SessionCookieAsync(context))?.Value, Is.EqualTo(cookie?.Value), "the circuit must not change the session cookie");
    }

    [Test]
    public async Task Sign_out_in_one_tab_ends_the_session_in_the_other_tabs_circuit()
    {
        var context = await NewContextAsync(App);
        var user = UniqueUser("ada");
        var home = await SignInAsync(context, user);
        var counter = await OpenCounterAsync(context);
        await Expect(counter.Locator("#user")).ToHaveTextAsync(user);
        await ClickAsync(counter, "#increment", expectedCount: 1);

        await home.ClickAsync("#sign-out");
        await Expect(home.Locator("#sign-in")).ToBeVisibleAsync();

        // The circuit sees it on its next access: it cannot write to the ended session, and says why.
        await counter.ClickAsync("#increment");
        await Expect(counter.Locator("#ended")).ToBeVisibleAsync();
        await Expect(counter.Locator("#error")).ToContainTextAsync("ended");
        await Expect(counter.Locator("#n")).ToHaveTextAsync("1");
        await Expect(counter.Locator("#mode")).ToHaveTextAsync("interactive");
    }

    [Test]
    public async Task With_EndConnectionWhenSessionEnds_a_sign_out_reloads_the_other_tabs_page()
    {
        await using var app = await SampleApp.StartAsync("BlazorApp", "read", new Dictionary<string, string>
        {
            ["Sessions__Connections__EndConnectionWhenSessionEnds"] = "true",
        });
        var context = await NewContextAsync(app);
        var user = UniqueUser("grace");
        var home = await SignInAsync(context, user);
        var counter = await OpenCounterAsync(context);
        await Expect(counter.Locator("#user")).ToHaveTextAsync(user);
        await counter.EvaluateAsync("window.sameDocument = true");

        await home.ClickAsync("#sign-out");
        await Expect(home.Locator("#sign-in")).ToBeVisibleAsync();
        await counter.ClickAsync("#refresh");

        // The page was reloaded (a new document and circuit), and now shows the browser's state: no user.
        await Expect(counter.Locator("#user")).ToHaveTextAsync("(none)");
        await Expect(counter.Locator("#mode")).ToHaveTextAsync("interactive");
        Assert.That(await counter.EvaluateAsync<bool>("window.sameDocument === true"), Is.False, "the page should have been reloaded");
    }

    [Test]
    public async Task A_store_outage_shows_an_error_in_the_component_and_the_circuit_lives_on()
    {
        var redisPath = ServerProcess.FindOnPath("redis-server", "run tools/setup.sh (or apt-get install -y redis-server).");
        var port = ServerProcess.FreeLoopbackPort();
        var redis = await ServerProcess.StartAsync(
            "redis-server", redisPath, ["--port", ServerProcess.Arg(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            ct => ServerProcess.AcceptsTcpAsync(port, ct));
        _running.Add(redis);
        var app = await SampleApp.StartAsync("BlazorApp", "read", new Dictionary<string, string>
        {
            ["Sessions__Backend"] = "redis",
            ["Sessions__Redis__Configuration"] = $"127.0.0.1:{port}",
            ["Sessions__OperationTimeout"] = "00:00:01",
        });
        _running.Add(app);
        var context = await NewContextAsync(app);
        var counter = await OpenCounterAsync(context);
        await ClickAsync(counter, "#increment", expectedCount: 1);
        await counter.EvaluateAsync("window.sameDocument = true");

        Signal("STOP", redis.Pid!.Value);
        try
        {
            await counter.ClickAsync("#increment");
            await Expect(counter.Locator("#error")).ToContainTextAsync("not reachable");
            await Expect(counter.Locator("#n")).ToHaveTextAsync("1");
        }
        finally
        {
            Signal("CONT", redis.Pid!.Value);
        }

        // Same document, same circuit: it works again once the store is back (the breaker may hold calls for a moment).
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await counter.ClickAsync("#increment");
            try
            {
                await Expect(counter.Locator("#n")).ToHaveTextAsync("2", new() { Timeout = 2_000 });
                break;
            }
            catch (PlaywrightException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                // Still failing (the store's breaker may hold calls for a moment): click again.
            }
        }

        await Expect(counter.Locator("#error")).ToBeHiddenAsync();
        Assert.That(await counter.EvaluateAsync<bool>("window.sameDocument === true"), Is.True, "the circuit should have lived on");
    }

    [Test]
    public async Task A_hub_uses_the_session_of_the_cookie_it_connected_with_and_cannot_start_one()
    {
        var context = await NewContextAsync(App);
        var counter = await OpenCounterAsync(context);
        await ClickAsync(counter, "#increment", expectedCount: 1);

        await using var hub = await ConnectHubAsync(App, context);
        Assert.That(await hub.InvokeAsync<int>("Read"), Is.EqualTo(1));
        Assert.That(await hub.InvokeAsync<int>("Increment"), Is.EqualTo(2));
        await ClickAsync(counter, "#refresh", expectedCount: 2);

        // No cookie: no session, and a hub cannot start one.
        await using var anonymous = await ConnectHubAsync(App, context: null);
        Assert.That(await anonymous.InvokeAsync<int>("Read"), Is.Zero);
        Assert.ThrowsAsync<HubException>(async () => await anonymous.InvokeAsync<int>("Increment"));
    }

    private async Task<IBrowserContext> NewContextAsync(SampleApp app)
    {
        var context = await BrowserEnvironment.Browser.NewContextAsync(new() { BaseURL = app.BaseUrl.ToString() });
        _contexts.Add(context);
        return context;
    }

    private static async Task<IPage> OpenCounterAsync(IBrowserContext context)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync("/counter");
        await Expect(page.Locator("#mode")).ToHaveTextAsync("interactive");
        return page;
    }

    private static async Task ClickAsync(IPage page, string button, int expectedCount)
    {
        await page.ClickAsync(button);
        await Expect(page.Locator("#n")).ToHaveTextAsync(expectedCount.ToString(CultureInfo.InvariantCulture));
    }

    private static async Task<IPage> SignInAsync(IBrowserContext context, string user)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.FillAsync("#user", user);
        await page.ClickAsync("#sign-in");
        await Expect(page.Locator("#signed-in")).ToHaveTextAsync(user);
        return page;
    }

    // A .NET SignalR client with the browser's session cookie, as a page's script would connect.
    private static async Task<HubConnection> ConnectHubAsync(SampleApp app, IBrowserContext? context)
    {
        var cookie = context is null ? null : await SessionCookieAsync(context);
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseUrl, "hubs/counter"), options =>
            {
                if (cookie is not null)
                {
                    options.Headers["Cookie"] = $"{cookie.Name}={cookie.Value}";
                }
            })
            .Build();
        await connection.StartAsync();
        return connection;
    }

    private static async Task<BrowserContextCookiesResult?> SessionCookieAsync(IBrowserContext context) =>
        (await context.CookiesAsync()).FirstOrDefault(c => c.Name == CookieName);

    private static string UniqueUser(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];

    // Freezes or thaws the Redis server this test started, by its PID.
    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
