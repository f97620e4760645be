using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Security;
using System.Text;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests.Protocol;

/// <summary>Servers this fixture owns: one it kills and restarts, one with TLS, one with an ACL user.</summary>
[TestFixture]
public sealed class RedisServerLifecycleTests
{
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
    public async Task A_killed_server_fails_calls_fast_and_serves_the_same_client_again_after_a_restart()
    {
        var server = await Own(RedisServerProcess.StartRedisAsync(name: "redis-server (restarted, idle)"));
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = server.Endpoint });
        var record = new SessionRecord(Encoding.UTF8.GetBytes("kept"), DateTimeOffset.UtcNow.AddHours(1), 1);
        Assert.That(await backend.SetAsync("session:restart", record, SetCondition.Always, CancellationToken.None), Is.True);

        server.Stop();
        var watch = Stopwatch.StartNew();
        Assert.ThrowsAsync<RedisConnectionException>(async () => await backend.GetAsync("session:restart", CancellationToken.None), "the first call after the kill");
        var error = Assert.ThrowsAsync<RedisConnectionException>(async () => await backend.GetAsync("session:restart", CancellationToken.None), "a call while the server is down");
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), "calls while the server is down must fail fast");
        // Right after the kill the reason is the lost connection; once a reconnect attempt was refused, it says so.
        Assert.That(error!.Message, Does.Contain($"Redis at {server.Endpoint}").And.Contain("refused the connection; is the server running?").Or.Contain("was lost"));

        await server.RestartAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                Assert.That(await backend.SetAsync("session:restart", record, SetCondition.IfAbsent, CancellationToken.None), Is.True, "a write after the restart (the server restarted empty)");
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20); // the client reconnects in the background with a backoff of at most 2 s
            }
        }
    }

    [Test]
    public async Task A_client_whose_first_calls_find_the_server_down_serves_calls_once_it_starts()
    {
        var port = RedisServerProcess.FreePort();
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = $"127.0.0.1:{port}" });

        // Several calls: the first waits for the first connection attempt, later ones find the failure at once. Neither
        // may leave the client believing for good that the server cannot be reached.
        for (var i = 0; i < 3; i++)
        {
            var error = Assert.ThrowsAsync<RedisConnectionException>(async () => await backend.GetAsync("session:late", CancellationToken.None));
            Assert.That(error!.Message, Does.Contain("refused the connection"));
        }

        await Own(RedisServerProcess.StartRedisAsync(port: port, name: "redis-server (started after the client)"));

        var watch = Stopwatch.StartNew();
        await WaitUntilAsync(
            async () =>
            {
                try
                {
                    return await backend.GetAsync("session:late", CancellationToken.None) is null;
                }
                catch (RedisConnectionException)
                {
                    return false; // reconnecting: the backoff is at most 2 s
                }
            },
            TimeSpan.FromSeconds(10),
            "a call to succeed once the server was up");
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    // Killed while the first calls are still connecting (the client has not yet learned whether the server is a cluster),
    // or once every caller is busy on the live connection.
    [TestCase(8, true)]
    [TestCase(32, true)]
    [TestCase(8, false)]
    [TestCase(32, false)]
    public async Task A_server_killed_and_restarted_mid_load_fails_calls_fast_while_down_and_serves_them_again_after(int callers, bool killedDuringTheFirstCalls)
    {
        var server = await Own(RedisServerProcess.StartRedisAsync(name: $"redis-server (restarted under {callers} callers)"));
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = server.Endpoint });
        var record = new SessionRecord(Encoding.UTF8.GetBytes("load"), DateTimeOffset.UtcNow.AddHours(1), 1);
        var clock = Stopwatch.StartNew();
        var calls = new ConcurrentQueue<Call>();
        var successes = 0;
        var lastSuccessStarted = new long[callers]; // per caller, clock ticks; the waits below read these, not the log
        var refused = 0;
        using var stop = new CancellationTokenSource();

        // Every caller loops a read and a write as an app under load would, retrying at once after a failure.
        var load = Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            var key = $"session:load-{caller}";
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var started = clock.Elapsed;
                Exception? error = null;
                try
                {
                    if (n % 2 == 0)
                    {
                        await backend.SetAsync(key, record, SetCondition.Always, CancellationToken.None);
                    }
                    else
                    {
                        await backend.GetAsync(key, CancellationToken.None);
                    }
                }
                catch (Exception e)
                {
                    error = e;
                }

                calls.Enqueue(new Call(caller, started, clock.Elapsed, error));
                if (error is null)
                {
                    Interlocked.Increment(ref successes);
                    Volatile.Write(ref lastSuccessStarted[caller], started.Ticks);
                }
                else if (error.Message.Contains("refused the connection", StringComparison.Ordinal))
                {
                    Volatile.Write(ref refused, 1);
                }
                if (error is not null)
                {
                    await Task.Delay(1); // without spinning a core
                }
            }
        })).ToArray();

        if (!killedDuringTheFirstCalls)
        {
            await WaitUntilAsync(() => Volatile.Read(ref successes) >= callers * 20, TimeSpan.FromSeconds(10), "the load to run against the live server");
        }

        var killed = clock.Elapsed;
        var successesBeforeKill = Volatile.Read(ref successes);
        server.Stop();
        var down = clock.Elapsed;

        // Down for at least a second, and long enough for a reconnect attempt to be refused.
        await WaitUntilAsync(
            () => clock.Elapsed - down > TimeSpan.FromSeconds(1) && Volatile.Read(ref refused) == 1,
            TimeSpan.FromSeconds(10),
            "a call to fail because a reconnect attempt was refused");
        var restarting = clock.Elapsed;
        await server.RestartAsync();
        var up = clock.Elapsed;

        await WaitUntilAsync(
            () => Enumerable.Range(0, callers).All(i => Volatile.Read(ref lastSuccessStarted[i]) >= up.Ticks),
            TimeSpan.FromSeconds(10),
            $"every one of the {callers} callers to succeed again after the restart");
        var recovered = clock.Elapsed;
        await stop.CancelAsync();
        Assert.That(async () => await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(5)), Throws.Nothing, "callers stuck in a call");

        var afterKill = calls.Where(c => c.Ended > killed).ToList();
        var whileDown = calls.Where(c => c.Started >= down && c.Ended <= restarting).ToList();
        var slowest = afterKill.MaxBy(c => c.Took);
        TestContext.Out.WriteLine(
            $"{callers} callers, {successesBeforeKill} successes before the kill: {calls.Count} calls; {whileDown.Count} while down ({down - killed:ss\\.fff} s to kill, {restarting - down:ss\\.fff} s down), " +
            $"slowest call after the kill {slowest?.Took.TotalMilliseconds:F0} ms; every caller served again {recovered - up:ss\\.fff} s after the restart");
        Assert.Multiple(() =>
        {
            Assert.That(whileDown.Select(c => c.Caller).Distinct().Count(), Is.EqualTo(callers), "callers that made a call while the server was down");
            Assert.That(whileDown.Where(c => c.Error is null), Is.Empty, "calls that succeeded while the server was down");
            Assert.That(
                calls.Where(c => c.Error is not null and not RedisConnectionException).Select(c => c.Error!.GetType().Name + ": " + c.Error.Message).Distinct(),
                Is.Empty,
                "failures other than RedisConnectionException");
            Assert.That(afterKill.Where(c => c.Took > TimeSpan.FromSeconds(2)).Select(c => $"{c.Took.TotalMilliseconds:F0} ms, {c.Error?.Message ?? "succeeded"}"), Is.Empty, "calls that took over 2 s (in flight at the kill, or made while the server was down)");
            Assert.That(whileDown.Select(c => c.Error?.Message), Has.Some.EqualTo($"Redis at {server.Endpoint} refused the connection; is the server running? Set Sessions:Redis:Configuration."));
        });
    }

    [Test]
    public async Task Tls_with_a_certificate_made_at_test_time()
    {
        var directory = Directory.CreateTempSubdirectory("sessions-redis-tls-").FullName;
        var key = Path.Combine(directory, "server.key");
        var cert = Path.Combine(directory, "server.crt");
        await RunAsync("openssl", $"req -x509 -newkey rsa:2048 -nodes -keyout {key} -out {cert} -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1");
        RedisServerProcess server;
        try
        {
            server = await Own(RedisServerProcess.StartRedisAsync($"--tls-cert-file {cert} --tls-key-file {key} --tls-auth-clients no", name: "redis-server (TLS)", tlsOnly: true));
        }
        catch (InvalidOperationException e) when (e.Message.Contains("tls", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Ignore($"This redis-server build cannot serve TLS: {e.Message}");
            return;
        }

        var expected = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(cert);
        RemoteCertificateValidationCallback pinned = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == expected.GetCertHashString();
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions
        {
            Configuration = $"rediss://127.0.0.1:{server.Port}",
            ServerCertificateValidation = pinned,
        });
        var record = new SessionRecord(Encoding.UTF8.GetBytes("over TLS"), DateTimeOffset.UtcNow.AddHours(1), 3);

        Assert.That(await backend.SetAsync("session:tls", record, SetCondition.IfAbsent, CancellationToken.None), Is.True);
        Assert.That((await backend.GetAsync("session:tls", CancellationToken.None))!.Version, Is.EqualTo(3));

        await using var untrusting = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = $"127.0.0.1:{server.Port},ssl=true" });
        var error = Assert.ThrowsAsync<RedisConnectionException>(async () => await untrusting.GetAsync("session:tls", CancellationToken.None));
        Assert.That(error!.Message, Does.Contain("TLS handshake"), "a certificate the system does not trust must be refused");
    }

    [Test]
    public async Task An_acl_user_authenticates_and_wrong_credentials_fail_clearly()
    {
        var server = await Own(RedisServerProcess.StartRedisAsync(name: "redis-server (ACL)"));
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            var reply = await RedisServerProcess.RawCommandAsync(server.Port, "ACL SETUSER sessions on >s3cret ~session:* +@all", timeout.Token);
            Assert.That(reply, Is.EqualTo("+OK"), "ACL SETUSER");
        }

        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = $"redis://sessions:s3cret@127.0.0.1:{server.Port}" });
        var record = new SessionRecord(Encoding.UTF8.GetBytes("acl"), DateTimeOffset.UtcNow.AddHours(1), 1);
        Assert.That(await backend.SetAsync("session:acl", record, SetCondition.Always, CancellationToken.None), Is.True);
        Assert.That(await backend.GetAsync("session:acl", CancellationToken.None), Is.Not.Null);

        var outside = Assert.ThrowsAsync<RedisServerException>(async () => await backend.GetAsync("other:acl", CancellationToken.None));
        Assert.That(outside!.Message, Does.Contain("NOPERM"), "a key outside the user's ~session:* pattern");

        await using var wrong = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = $"127.0.0.1:{server.Port},user=sessions,password=nope" });
        var error = Assert.ThrowsAsync<RedisConnectionException>(async () => await wrong.GetAsync("session:acl", CancellationToken.None));
        Assert.That(error!.Message, Does.Contain("rejected the credentials").And.Contain("WRONGPASS"));
    }

    private static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                Assert.Fail($"Waited {timeout.TotalSeconds} s for {what}.");
            }

            await Task.Delay(10); // a poll interval: the wait ends as soon as the condition holds
        }
    }

    private static async Task RunAsync(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.That(process.ExitCode, Is.Zero, $"{file} {arguments}: {output}");
    }

    /// <summary>One call of a load test: who made it, when (since the test started), and how it ended.</summary>
    private sealed record Call(int Caller, TimeSpan Started, TimeSpan Ended, Exception? Error)
    {
        public TimeSpan Took => Ended - Started;
    }

    private async Task<RedisServerProcess> Own(Task<RedisServerProcess> starting)
    {
        var server = await TestServers.Track(starting);
        _servers.Add(server);
        return server;
    }
}
