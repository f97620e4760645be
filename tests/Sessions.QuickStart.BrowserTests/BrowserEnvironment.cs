using Microsoft.Playwright;
using NUnit.Framework;
using Sessions.QuickStart.BrowserTests.Support;

namespace Sessions.QuickStart.BrowserTests;

/// <summary>Once per test run (a set-up fixture in the root namespace, so it covers every test): the QuickStart app, Playwright's driver and one Chromium. Each test opens its own browser contexts.</summary>
[SetUpFixture]
public sealed class BrowserEnvironment
{
    private static SampleApp? s_app;
    private static IPlaywright? s_playwright;
    private static IBrowser? s_browser;

    internal static Uri BaseUrl => (s_app ?? throw new InvalidOperationException("The QuickStart app is not running.")).BaseUrl;

    internal static IBrowser Browser => s_browser ?? throw new InvalidOperationException("Chromium is not running.");

    internal static string AppOutput => s_app?.Output ?? "";

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        // The browser first: without Chromium there is no point starting the app.
        s_playwright = await Playwright.CreateAsync();
        s_browser = await Chromium.LaunchAsync(s_playwright);
        s_app = await SampleApp.StartAsync();

        // Generous, for a loaded CI machine; a passing run never waits this long.
        Assertions.SetDefaultExpectTimeout(15_000);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (s_browser is not null)
        {
            await s_browser.CloseAsync();
        }

        s_playwright?.Dispose();
        if (s_app is not null)
        {
            await s_app.DisposeAsync();
        }
    }
}
