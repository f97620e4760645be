using System.Collections.Concurrent;
using System.Text;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Memcached.Tests.Support;

namespace Sessions.Memcached.Tests;

// Many callers share a few pipelined connections; every reply must reach the caller that asked for it.
[TestFixture]
public sealed class ClientConcurrencyTests
{
    private const int Callers = 256;
    private const int RoundsPerCaller = 20;
    private MemcachedServers _servers = null!;

    [OneTimeSetUp]
    public async Task StartServersAsync() => _servers = await MemcachedServers.StartAsync(3);

    [OneTimeTearDown]
    public async Task StopServersAsync() => await _servers.DisposeAsync();

    [TestCase(1, 1, TestName = "256 callers on one server over one connection get their own replies")]
    [TestCase(1, 2, TestName = "256 callers on one server over two connections get their own replies")]
    [TestCase(3, 2, TestName = "256 callers on a pool of three get their own replies")]
    public async Task Concurrent_callers_each_get_their_own_replies(int servers, int connections)
    {
        await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions
        {
            Servers = string.Join(",", _servers.Addresses.Take(servers)),
            ConnectionsPerServer = connections,
            OperationTimeout = TimeSpan.FromSeconds(10),
        });
        var prefix = $"conc:{Guid.NewGuid():N}:";
        var problems = new ConcurrentQueue<string>();
        using var go = new ManualResetEventSlim();

        var tasks = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            var key = $"{prefix}{caller}";
            for (var round = 0; round < RoundsPerCaller; round++)
            {
                // Sizes vary per caller and round, so a reply handed to the wrong caller shows in length as well as content.
                var payload = Encoding.UTF8.GetBytes($"caller {caller} round {round} " + new string('x', (caller * 7 + round * 13) % 3000));
                var record = new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(5), (caller * 1000L) + round);
                if (!await backend.SetAsync(key, record, SetCondition.Always, CancellationToken.None))
                {
                    problems.Enqueue($"caller {caller} round {round}: SetAsync returned false");
                }

                var read = await backend.GetAsync(key, CancellationToken.None);
                if (read is null || read.Version != record.Version || !read.Payload.Span.SequenceEqual(payload))
                {
                    problems.Enqueue($"caller {caller} round {round}: read back {(read is null ? "nothing" : $"version {read.Version}, {read.Payload.Length} bytes")}");
                }
            }
        })).ToArray();

        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(120));

        Assert.That(problems, Is.Empty, $"{Callers} callers x {RoundsPerCaller} rounds of set + get");
    }

    [Test]
    public async Task Callers_that_cancel_mid_flight_do_not_disturb_the_others()
    {
        await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = _servers.Addresses[0], ConnectionsPerServer = 1 });
        var prefix = $"cancel:{Guid.NewGuid():N}:";
        for (var i = 0; i < 64; i++)
        {
            await backend.SetAsync($"{prefix}{i}", new SessionRecord(new byte[20_000 + i], DateTimeOffset.UtcNow.AddMinutes(5), i), SetCondition.Always, CancellationToken.None);
        }

        var problems = new ConcurrentQueue<string>();
        var cancelled = 0;
        var tasks = Enumerable.Range(0, 512).Select(n => Task.Run(async () =>
        {
            var i = n % 64;
            using var cts = new CancellationTokenSource();
            if (n % 3 == 0)
            {
                cts.CancelAfter(TimeSpan.FromTicks(n % 7 * 500));
            }

            try
            {
                var read = await backend.GetAsync($"{prefix}{i}", cts.Token);
                if (read is null || read.Version != i || read.Payload.Length != 20_000 + i)
                {
                    problems.Enqueue($"get {n} of key {i}: {(read is null ? "nothing" : $"version {read.Version}, {read.Payload.Length} bytes")}");
                }
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref cancelled);
            }
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(problems, Is.Empty, $"reads that got another key's reply ({cancelled} of 512 were cancelled)");

        // The connection is still in step: every key reads back its own record.
        for (var i = 0; i < 64; i++)
        {
            Assert.That((await backend.GetAsync($"{prefix}{i}", CancellationToken.None))?.Version, Is.EqualTo(i), $"key {i} after the cancellations");
        }
    }
}
