using Microsoft.Playwright;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace Sessions.QuickStart.BrowserTests;

/// <summary>The QuickStart page in a real browser: what a user sees, and the session cookie as the browser stores it.</summary>
[TestFixture]
public sealed class QuickStartBrowserTests
{
    private const string CookieName = "session";

    private readonly List<IBrowserContext> _contexts = [];

    [TearDown]
    public async Task CloseContextsAsync()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            TestContext.Out.WriteLine($"QuickStart output so far:\n{BrowserEnvironment.AppOutput}");
        }

        foreach (var context in _contexts)
        {
            await context.CloseAsync();
        }

        _contexts.Clear();
    }

    [Test]
    public async Task The_counter_persists_across_reloads()
    {
        var page = await OpenPageAsync();

        await CountAsync(page, times: 3);
        await page.ReloadAsync();

        await Expect(page.Locator("#n")).ToHaveTextAsync("3");
        var read = await page.Context.APIRequest.GetAsync("/read");
        Assert.That(await read.TextAsync(), Is.EqualTo("3"));
    }

    [Test]
    public async Task Login_changes_the_cookie_value_and_keeps_the_counter()
    {
        var page = await OpenPageAsync();
        await CountAsync(page, times: 2);
        var before = await SessionCookieAsync(page.Context);
        Assert.That(before, Is.Not.Null, "GET /hit should have set the session cookie");

        await SignInAsync(page, UniqueUser("ada"));

        var after = await SessionCookieAsync(page.Context);
        Assert.That(after, Is.Not.Null, "the session cookie should survive sign-in");
        Assert.That(after!.Value, Is.Not.EqualTo(before!.Value), "sign-in must regenerate the session ID (session fixation)");
        await Expect(page.Locator("#n")).ToHaveTextAsync("2");
    }

    [Test]
    public async Task The_cookie_is_HttpOnly_and_SameSite_Lax()
    {
        var page = await OpenPageAsync();
        await CountAsync(page, times: 1);

        var cookie = await SessionCookieAsync(page.Context);

        Assert.That(cookie, Is.Not.Null, "GET /hit should have set the session cookie");
        Assert.Multiple(() =>
        {
            Assert.That(cookie!.HttpOnly, Is.True, "HttpOnly");
            Assert.That(cookie.SameSite, Is.EqualTo(SameSiteAttribute.Lax), "SameSite");
            Assert.That(cookie.Path, Is.EqualTo("/"), "Path");
            Assert.That(cookie.Secure, Is.False, "Secure is only set over HTTPS by default");
        });
        var scriptVisible = await page.EvaluateAsync<string>("() => document.cookie");
        Assert.That(scriptVisible, Does.Not.Contain(CookieName + "="), "page scripts must not see an HttpOnly cookie");
    }

    [Test]
    public async Task Logout_removes_the_cookie()
    {
        var page = await OpenPageAsync();
        await CountAsync(page, times: 1);
        await SignInAsync(page, UniqueUser("grace"));
        Assert.That(await SessionCookieAsync(page.Context), Is.Not.Null);

        await page.Locator("#logout").ClickAsync();

        await Expect(page.Locator("input[name=user]")).ToBeVisibleAsync();
        Assert.That(await SessionCookieAsync(page.Context), Is.Null, "sign-out must expire the session cookie");
        await Expect(page.Locator("#n")).ToHaveTextAsync("0");
    }

    [Test]
    public async Task Revoking_a_session_from_a_second_browser_signs_the_first_one_out()
    {
        var user = UniqueUser("linus");
        var laptop = await OpenPageAsync(userAgent: "LaptopBrowser/1.0");
        await SignInAsync(laptop, user);
        var phone = await OpenPageAsync(userAgent: "PhoneBrowser/2.0");
        await SignInAsync(phone, user);

        var rows = phone.Locator("#sessions tbody tr");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(phone.Locator("#sessions tr.current")).ToContainTextAsync("PhoneBrowser/2.0");
        await rows.Filter(new() { HasText = "LaptopBrowser/1.0" }).GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();

        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows).ToContainTextAsync("PhoneBrowser/2.0");
        await laptop.ReloadAsync();
        await Expect(laptop.Locator("input[name=user]")).ToBeVisibleAsync();
        await Expect(laptop.Locator("#user")).ToHaveCountAsync(0);
        await phone.ReloadAsync();
        await Expect(phone.Locator("#user")).ToHaveTextAsync(user);
    }

    private async Task<IPage> OpenPageAsync(string? userAgent = null)
    {
        var context = await BrowserEnvironment.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BrowserEnvironment.BaseUrl.ToString(),
            UserAgent = userAgent,
        });
        _contexts.Add(context);
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        var response = await page.GotoAsync("/");
        Assert.That(response?.Status, Is.EqualTo(200), "GET /");
        return page;
    }

    // Clicks the page's Count button (fetch GET /hit) and waits for each new value, so the clicks never overlap.
    private static async Task CountAsync(IPage page, int times)
    {
        var start = int.Parse(await page.Locator("#n").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 1; i <= times; i++)
        {
            await page.Locator("#hit").ClickAsync();
            await Expect(page.Locator("#n")).ToHaveTextAsync((start + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static async Task SignInAsync(IPage page, string user)
    {
        await page.Locator("input[name=user]").FillAsync(user);
        await page.Locator("#login").ClickAsync();
        await Expect(page.Locator("#user")).ToHaveTextAsync(user);
    }

    private static async Task<BrowserContextCookiesResult?> SessionCookieAsync(IBrowserContext context)
    {
        var cookies = await context.CookiesAsync([BrowserEnvironment.BaseUrl.ToString()]);
        return cookies.SingleOrDefault(c => c.Name == CookieName);
    }

    // The app is shared by all tests, so each test signs in as its own user.
    private static string UniqueUser(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];
}
