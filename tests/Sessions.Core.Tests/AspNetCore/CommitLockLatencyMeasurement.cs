using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace Sessions.Core.Tests.AspNetCore;

/// <summary>
/// Measures (reports, never asserts) the latency the per-session commit lock adds: 64 concurrent requests that each set a
/// different key on ONE session, against a baseline measured in the same run: 64 concurrent requests on 64 sessions.
/// Run it on purpose: <c>dotnet test --filter FullyQualifiedName~CommitLockLatencyMeasurement</c>.
/// </summary>
[Explicit("A measurement, not a check: its numbers depend on the machine.")]
public sealed class CommitLockLatencyMeasurement
{
    private const int Concurrency = 64;
    private const int Rounds = 30;

    [Test]
    public async Task Report_p50_and_p99_of_concurrent_writes_to_one_session_against_many_sessions()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddSessions().AddMemoryBackend();
        await using var app = builder.Build();
        app.UseSessions();
        app.MapGet("/set", (HttpContext ctx, string key) =>
        {
            ctx.Session.SetString(key, "1");
            return "ok";
        });
        await app.StartAsync();
        using var client = app.GetTestClient();

        var cookies = new string[Concurrency];
        for (var i = 0; i < Concurrency; i++)
        {
            using var first = await client.GetAsync(new Uri("/set?key=start", UriKind.Relative));
            cookies[i] = first.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        }

        // Warm up both shapes once, then alternate them so that machine load falls on both alike.
        await RoundAsync(client, cookies, oneSession: false, 0);
        await RoundAsync(client, cookies, oneSession: true, 0);
        var many = new List<double>();
        var one = new List<double>();
        var failures = 0;
        for (var round = 1; round <= Rounds; round++)
        {
            var (manyTimes, manyFailures) = await RoundAsync(client, cookies, oneSession: false, round);
            var (oneTimes, oneFailures) = await RoundAsync(client, cookies, oneSession: true, round);
            many.AddRange(manyTimes);
            one.AddRange(oneTimes);
            failures += manyFailures + oneFailures;
        }

        var report = string.Create(
            CultureInfo.InvariantCulture,
            $"{Concurrency} concurrent writes x {Rounds} rounds, in-memory store, TestServer. "
            + $"64 sessions (baseline): p50 {Percentile(many, 0.50):F2} ms, p99 {Percentile(many, 0.99):F2} ms. "
            + $"one session: p50 {Percentile(one, 0.50):F2} ms, p99 {Percentile(one, 0.99):F2} ms. "
            + $"ratio one/baseline: p50 {Percentile(one, 0.50) / Percentile(many, 0.50):F2}, p99 {Percentile(one, 0.99) / Percentile(many, 0.99):F2}. non-200 replies: {failures}.");
        TestContext.Out.WriteLine(report);
        Assert.Pass(report);
    }

    private static async Task<(List<double> Times, int Failures)> RoundAsync(HttpClient client, string[] cookies, bool oneSession, int round)
    {
        var tasks = Enumerable.Range(0, Concurrency).Select(i => Task.Run(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, string.Create(CultureInfo.InvariantCulture, $"/set?key=r{round}k{i}"));
            request.Headers.Add("Cookie", oneSession ? cookies[0] : cookies[i]);
            var clock = Stopwatch.StartNew();
            using var response = await client.SendAsync(request);
            return (clock.Elapsed.TotalMilliseconds, (int)response.StatusCode);
        }));
        var results = await Task.WhenAll(tasks);
        return ([.. results.Select(r => r.TotalMilliseconds)], results.Count(r => r.Item2 != 200));
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
