using Microsoft.Playwright;
using NUnit.Framework;

namespace Sessions.QuickStart.BrowserTests.Support;

/// <summary>Launches Debian's Chromium headless through Playwright (Playwright's own browser download does not work here).</summary>
internal static class Chromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    public static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        if (!File.Exists(ExecutablePath))
        {
            Assert.Fail($"{ExecutablePath} is missing. The browser tests need Debian's Chromium: run tools/setup.sh (SESSIONS_SETUP=chromium tools/setup.sh installs only it), or apt-get install -y chromium.");
        }

        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // Without the networking flags Chromium keeps calling Google's hosts, which this closed network refuses.
            Args =
            [
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        });
    }
}
