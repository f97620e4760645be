using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Memcached.Tests.Support;

namespace Sessions.Memcached.Tests;

// A server that dies or hangs: its keys fail quickly and clearly, the other servers carry on, and it is used again once back.
[TestFixture]
public sealed class NodeFailureTests
{
    [Test]
    public async Task A_server_killed_mid_load_fails_fast_for_its_keys_only_and_is_used_again_after_restart()
    {
        if (MemcachedServers.External is not null)
        {
            Assert.Ignore($"needs servers the test can kill and restart; {MemcachedServers.EnvironmentVariable} points at external ones.");
        }

        await using var servers = await MemcachedServers.StartAsync(3);
        var victim = servers.Processes[1];
        await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions
        {
            Servers = servers.Servers,
            OperationTimeout = TimeSpan.FromSeconds(5),
            RetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryDelay = TimeSpan.FromMilliseconds(500),
        });
        var keys = Enumerable.Range(0, 300).Select(i => Keys.SessionLike($"failover {i}")).ToArray();
        var victimKeys = keys.Where(k => backend.ServerFor(k) == victim.Address).ToArray();
        var healthyKeys = keys.Except(victimKeys).ToArray();
        Assert.That(victimKeys, Is.Not.Empty, "the victim server owns none of the keys");
        foreach (var key in keys)
        {
            await backend.SetAsync(key, Record(1), SetCondition.Always, CancellationToken.None);
        }

        // Load on the healthy servers throughout: none of it may fail.
        using var stopLoad = new CancellationTokenSource();
        var healthyFailures = new ConcurrentQueue<string>();
        var healthyOps = 0;
        var load = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var i = worker;
            while (!stopLoad.IsCancellationRequested)
            {
                var key = healthyKeys[i++ % healthyKeys.Length];
                try
                {
                    var current = await backend.GetAsync(key, CancellationToken.None);
                    await backend.SetAsync(key, Record((current?.Version ?? 0) + 1), SetCondition.Always, CancellationToken.None);
                    Interlocked.Increment(ref healthyOps);
                }
                catch (Exception ex)
                {
                    healthyFailures.Enqueue($"{key} on {backend.ServerFor(key)}: {ex.Message}");
                }
            }
        })).ToArray();

        await victim.KillAsync();

        // While it is down: every call for its keys fails with a MemcachedException naming it, and quickly (far below the
        // 5 s operation timeout: a refused connection or the down mark, not a wait).
        var messages = new List<string>();
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < 40; i++)
        {
            var watch = Stopwatch.StartNew();
            var ex = Assert.ThrowsAsync<MemcachedException>(async () => await backend.GetAsync(victimKeys[i % victimKeys.Length], CancellationToken.None));
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
            messages.Add(ex!.Message);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(messages, Has.All.Contain(victim.Address), "every failure names the server");
            Assert.That(messages, Has.Some.Match($@"memcached at {victim.Address.Replace(".", "\\.")} is down \(connection refused\); retrying in \d+ m?s"), "the down message");
            Assert.That(slowest, Is.LessThan(TimeSpan.FromSeconds(2.5)), "the slowest failure while the server was down");
        }

        await victim.RestartAsync();

        // Back: within a few retry periods its keys work again (polled; memcached lost their data, so write first).
        var back = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await backend.SetAsync(victimKeys[0], Record(9), SetCondition.Always, CancellationToken.None);
                break;
            }
            catch (MemcachedException) when (back.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }
        }

        Assert.That((await backend.GetAsync(victimKeys[0], CancellationToken.None))?.Version, Is.EqualTo(9), "a key of the restarted server");

        await stopLoad.CancelAsync();
        await Task.WhenAll(load);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(healthyFailures, Is.Empty, "operations on the healthy servers while one was down");
            Assert.That(healthyOps, Is.GreaterThan(0), "operations on the healthy servers");
        }
    }

    [Test]
    public async Task A_server_that_accepts_but_never_answers_times_out_and_is_marked_down()
    {
        // A TCP listener that accepts connections and never replies: a hung server.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var address = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        var accepted = new ConcurrentBag<Socket>();
        using var stop = new CancellationTokenSource();
        var acceptLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                accepted.Add(await listener.AcceptSocketAsync(stop.Token));
            }
        });

        try
        {
            await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions
            {
                Servers = address,
                OperationTimeout = TimeSpan.FromMilliseconds(300),
                RetryDelay = TimeSpan.FromSeconds(30),
                MaxRetryDelay = TimeSpan.FromSeconds(30),
            });

            var timedOut = Assert.ThrowsAsync<MemcachedException>(async () => await backend.GetAsync("session:hung", CancellationToken.None));
            var down = Assert.ThrowsAsync<MemcachedException>(async () => await backend.GetAsync("session:hung", CancellationToken.None));

            using (Assert.EnterMultipleScope())
            {
                Assert.That(timedOut!.Message, Does.Contain($"memcached at {address} did not answer within 300 ms"));
                Assert.That(down!.Message, Does.Match($@"memcached at {address.Replace(".", "\\.")} is down \(no reply within 300 ms\); retrying in \d+ m?s"));
            }
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await acceptLoop;
            }
            catch (OperationCanceledException)
            {
            }

            foreach (var socket in accepted)
            {
                socket.Dispose();
            }
        }
    }

    [Test]
    public async Task A_server_that_is_not_running_fails_with_connection_refused()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = $"127.0.0.1:{port}" });

        var ex = Assert.ThrowsAsync<MemcachedException>(async () => await backend.GetAsync("session:x", CancellationToken.None));
        var probe = Assert.ThrowsAsync<MemcachedException>(async () => await backend.ProbeAsync(CancellationToken.None));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.Message, Does.StartWith($"memcached at 127.0.0.1:{port} is down (connection refused); retrying in 250 ms"));
            Assert.That(ex.Server, Is.EqualTo($"127.0.0.1:{port}"));
            Assert.That(probe!.Message, Does.Contain($"memcached at 127.0.0.1:{port} is down"));
        }
    }

    private static SessionRecord Record(long version) => new(new byte[100], DateTimeOffset.UtcNow.AddMinutes(5), version);
}
