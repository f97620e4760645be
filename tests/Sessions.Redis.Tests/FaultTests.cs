using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Tests.Support;
using StackExchange.Redis;

namespace Sessions.Redis.Tests;

/// <summary>
/// Outages under load, on servers this fixture owns: 32 concurrent callers keep reading and writing while redis-server is
/// killed and restarted, or frozen with <c>SIGSTOP</c> and thawed with <c>SIGCONT</c>. Calls must fail with the backend's
/// error within the documented bound (<see cref="RedisSessionBackendOptions.CommandTimeout"/> plus one heartbeat), none may
/// hang longer, and every call that starts 2 s after the server is back must succeed, without a new backend.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class FaultTests
{
    private const int Callers = 32;

    // CommandTimeout (1000 ms) + one heartbeat (1000 ms) is the documented bound; the rest is margin for a busy 2-core machine.
    private static readonly TimeSpan s_longestCall = TimeSpan.FromMilliseconds(1000 + 1000 + 1500);
    private static readonly TimeSpan s_recovery = TimeSpan.FromSeconds(2);
    private readonly List<RedisServerProcess> _servers = [];

    [OneTimeTearDown]
    public void StopServers()
    {
        foreach (var server in _servers)
        {
            server.Stop();
        }
    }

    [Test]
    public async Task A_killed_and_restarted_server_fails_calls_fast_and_serves_them_again_within_2_s()
    {
        var server = await Own(RedisServerProcess.StartRedisAsync(name: "redis-server (killed)"));
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = server.Endpoint });
        var run = new LoadRun(backend);

        var report = await run.RunAsync(
            outage: async () => server.Stop(),
            recover: async () => await server.RestartAsync(),
            outageLength: TimeSpan.FromSeconds(3));

        report.AssertOutcome(server.Endpoint, expectFailures: true);
    }

    [Test]
    public async Task A_frozen_server_fails_calls_within_the_command_timeout_and_serves_them_again_within_2_s()
    {
        var server = await Own(RedisServerProcess.StartRedisAsync(name: "redis-server (frozen)"));
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = server.Endpoint });
        var run = new LoadRun(backend);

        try
        {
            var report = await run.RunAsync(
                outage: async () => server.Signal("STOP"),
                recover: async () => server.Signal("CONT"),
                outageLength: TimeSpan.FromSeconds(3));

            report.AssertOutcome(server.Endpoint, expectFailures: true);
            Assert.That(report.Failures, Has.Some.Matches<Exception>(e => e.InnerException is RedisTimeoutException), "a frozen server is a timeout");
            Assert.That(report.Failures.First(e => e.InnerException is RedisTimeoutException).Message, Does.Contain("Sessions:Redis:CommandTimeout (1000 ms)"));
        }
        finally
        {
            server.Signal("CONT"); // never leave a stopped process behind, whatever failed
        }
    }

    [Test]
    public async Task A_backend_that_starts_while_Redis_is_down_serves_calls_once_it_is_up()
    {
        var port = RedisServerProcess.FreePort();
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = $"127.0.0.1:{port}" });

        var watch = Stopwatch.StartNew();
        var error = Assert.ThrowsAsync<RedisSessionBackendException>(async () => await backend.GetAsync("session:late", CancellationToken.None));
        Assert.That(watch.Elapsed, Is.LessThan(s_longestCall), "the first call, which also makes the first connection attempt");
        Assert.That(error!.Message, Does.Contain($"127.0.0.1:{port}").And.Contain("Sessions:Redis:Configuration"));

        await Own(RedisServerProcess.StartRedisAsync(port: port, name: "redis-server (started after the app)"));
        var back = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Assert.That(await backend.GetAsync("session:late", CancellationToken.None), Is.Null);
                break;
            }
            catch (RedisSessionBackendException) when (back.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20);
            }
        }

        Assert.That(back.Elapsed, Is.LessThan(s_recovery + TimeSpan.FromSeconds(1)), "the reconnect back-off is capped at 1 s");
    }

    [Test]
    public async Task SCRIPT_FLUSH_mid_run_fails_no_operation()
    {
        var server = await Own(RedisServerProcess.StartRedisAsync(name: "redis-server (script flush)"));
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = server.Endpoint });
        await using var admin = await SharedMultiplexers.ConnectAsync(server.Endpoint);
        var run = new LoadRun(backend);

        var report = await run.RunAsync(
            outage: async () =>
            {
                for (var i = 0; i < 5; i++)
                {
                    await admin.GetServer(server.Endpoint).ScriptFlushAsync();
                    await Task.Delay(100);
                }
            },
            recover: () => Task.CompletedTask,
            outageLength: TimeSpan.FromSeconds(1));

        Assert.That(report.Failures, Is.Empty, "operations while the script cache was flushed: " + string.Join(" | ", report.Failures.Take(3).Select(e => e.Message)));
        Assert.That(report.Conflicts, Is.Zero, "each caller writes only its own key, so every conditional write must succeed");
        Assert.That(report.Succeeded, Is.GreaterThan(Callers * 10));
    }

    [Test]
    public async Task Resharding_the_slots_of_the_test_keys_mid_run_fails_no_operation()
    {
        var nodes = await TestServers.StartClusterAsync("redis-cluster-reshard");
        _servers.AddRange(nodes);
        var configuration = string.Join(",", nodes.Select(n => n.Endpoint));
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = configuration });
        await using var admin = await SharedMultiplexers.ConnectAsync(configuration);

        // 32 keys in slots 0-99, which `redis-cli --cluster reshard` moves first (it takes a source's lowest slots).
        var keys = new List<string>();
        while (keys.Count < Callers)
        {
            var key = $"session:reshard-{Guid.NewGuid():N}";
            if (admin.HashSlot(key) < 100)
            {
                keys.Add(key);
            }
        }

        var source = nodes.Single(n => admin.GetServer((RedisKey)keys[0]).EndPoint!.ToString()!.EndsWith($":{n.Port}", StringComparison.Ordinal));
        var target = nodes.First(n => n != source);
        var sourceId = await NodeIdAsync(source);
        var targetId = await NodeIdAsync(target);
        var moves = new List<string>();
        var run = new LoadRun(backend, keys);

        var report = await run.RunAsync(
            outage: async () =>
            {
                moves.Add(await ReshardAsync(source, sourceId, targetId));
                moves.Add(await ReshardAsync(source, targetId, sourceId));
            },
            recover: () => Task.CompletedTask,
            outageLength: TimeSpan.Zero);

        TestContext.Out.WriteLine($"{report.Calls.Count} calls during two reshards of slots 0-99 between {source} and {target}");
        Assert.That(moves, Has.All.Contain("Moving slot 0 from"), "the reshard moved the test keys' slots");
        Assert.That(report.Failures, Is.Empty, "operations during the reshard: " + string.Join(" | ", report.Failures.Take(3).Select(e => e.Message)));
        Assert.That(report.Conflicts, Is.Zero, "each caller writes only its own key, so every conditional write must succeed");
        Assert.That(report.Succeeded, Is.GreaterThan(Callers * 10));
    }

    private static async Task<string> NodeIdAsync(RedisServerProcess node)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reply = await RedisServerProcess.RawCommandAsync(node.Port, "CLUSTER MYID", timeout.Token);
        return reply.Split('\n', StringSplitOptions.TrimEntries)[^1];
    }

    private static async Task<string> ReshardAsync(RedisServerProcess entry, string from, string to)
    {
        var info = new ProcessStartInfo("redis-cli")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--cluster", "reshard", entry.Endpoint, "--cluster-from", from, "--cluster-to", to, "--cluster-slots", "100", "--cluster-yes" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var text = await output + await error;
        Assert.That(process.ExitCode, Is.Zero, $"redis-cli --cluster reshard: {text}");
        return text;
    }

    private async Task<RedisServerProcess> Own(Task<RedisServerProcess> starting)
    {
        var server = await TestServers.Track(starting);
        _servers.Add(server);
        return server;
    }

    /// <summary>32 callers, each on its own key: read, then write the next version with <c>IfVersion</c> (or create it).</summary>
    private sealed class LoadRun(RedisSessionBackend backend, IReadOnlyList<string>? keys = null)
    {
        private readonly ConcurrentQueue<Call> _calls = new();
        private long _conflicts;

        public async Task<Report> RunAsync(Func<Task> outage, Func<Task> recover, TimeSpan outageLength)
        {
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            var callers = Enumerable.Range(0, Callers).Select(i => Task.Run(() => CallerAsync(keys?[i] ?? $"session:fault-{Guid.NewGuid():N}-{i}", clock, stop.Token))).ToArray();

            await Task.Delay(TimeSpan.FromSeconds(1)); // healthy
            var down = clock.Elapsed;
            await outage();
            await Task.Delay(outageLength);
            await recover();
            var back = clock.Elapsed;
            await Task.Delay(s_recovery + TimeSpan.FromSeconds(2)); // recovery window, then calls that must all succeed
            await stop.CancelAsync();
            await Task.WhenAll(callers);
            return new Report([.. _calls], down, back, Interlocked.Read(ref _conflicts));
        }

        private async Task CallerAsync(string key, Stopwatch clock, CancellationToken stop)
        {
            long? version = null;
            while (!stop.IsCancellationRequested)
            {
                var started = clock.Elapsed;
                try
                {
                    var current = await backend.GetAsync(key, CancellationToken.None);
                    var next = new SessionRecord(Encoding.UTF8.GetBytes($"v{(current?.Version ?? 0) + 1}"), DateTimeOffset.UtcNow.AddMinutes(5), (current?.Version ?? 0) + 1);
                    var condition = current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(current.Version);
                    if (!await backend.SetAsync(key, next, condition, CancellationToken.None) && version is not null && current is not null)
                    {
                        Interlocked.Increment(ref _conflicts);
                    }

                    version = next.Version;
                    _calls.Enqueue(new Call(started, clock.Elapsed, null));
                }
                catch (Exception e)
                {
                    _calls.Enqueue(new Call(started, clock.Elapsed, e));
                    await Task.Delay(10, CancellationToken.None); // a failing caller retries at once, as the next request would
                }
            }
        }
    }

    private sealed record Call(TimeSpan Started, TimeSpan Ended, Exception? Error)
    {
        public TimeSpan Duration => Ended - Started;
    }

    private sealed record Report(IReadOnlyList<Call> Calls, TimeSpan Down, TimeSpan Back, long Conflicts)
    {
        public IReadOnlyList<Exception> Failures => [.. Calls.Where(c => c.Error is not null).Select(c => c.Error!)];

        public int Succeeded => Calls.Count(c => c.Error is null);

        public void AssertOutcome(string endpoint, bool expectFailures)
        {
            var longest = Calls.MaxBy(c => c.Duration)!;
            var lateFailures = Calls.Where(c => c.Error is not null && c.Started >= Back + s_recovery).ToList();
            var lastFailureAfterBack = Calls.Where(c => c.Error is not null).Select(c => c.Ended - Back).DefaultIfEmpty(TimeSpan.Zero).Max();
            TestContext.Out.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{Calls.Count} calls, {Failures.Count} failed; longest call {longest.Duration.TotalMilliseconds:F0} ms; last failure ended {lastFailureAfterBack.TotalMilliseconds:F0} ms after the server was back; {Calls.Count(c => c.Error is null && c.Started >= Back)} succeeded after it was back"));
            using (Assert.EnterMultipleScope())
            {
                if (expectFailures)
                {
                    Assert.That(Failures, Is.Not.Empty, "calls while the server was down must fail, not wait");
                }

                Assert.That(Failures, Has.All.InstanceOf<RedisSessionBackendException>(), "every failure is the backend's error (the core turns it into a 503)");
                Assert.That(Failures.Select(e => e.Message), Has.All.Contain(endpoint), "every message names the server");
                Assert.That(Failures.Select(e => e.Message), Has.All.Contain("Sessions:Redis:"), "every message names the setting to check");
                Assert.That(longest.Duration, Is.LessThan(s_longestCall), $"no call may hang past the timeout; the longest started {longest.Started.TotalMilliseconds:F0} ms into the run ({longest.Error?.GetType().Name ?? "succeeded"})");
                Assert.That(lateFailures, Is.Empty, $"calls that started {s_recovery.TotalSeconds} s after the server was back must succeed: {string.Join(" | ", lateFailures.Take(3).Select(c => c.Error!.Message))}");
                Assert.That(Calls.Count(c => c.Error is null && c.Started >= Back + s_recovery), Is.GreaterThan(Callers), "calls succeeded after the recovery window");
            }
        }
    }
}
