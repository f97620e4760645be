using System.Diagnostics;
using System.Text;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Protocol;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests.Protocol;

/// <summary>The RESP client against the shared redis-server: pipelining, large values, errors, cancellation, scripts.</summary>
[TestFixture]
public sealed class RedisClientProtocolTests
{
    private RedisClient _client = null!;

    [OneTimeSetUp]
    public async Task ConnectAsync() => _client = new RedisClient(RedisConfiguration.Parse(await TestServers.RedisAsync()));

    [OneTimeTearDown]
    public async Task DisconnectAsync() => await _client.DisposeAsync();

    [Test]
    public async Task Replies_match_their_commands_under_256_concurrent_callers()
    {
        var prefix = $"proto:{Guid.NewGuid():N}:";
        var wrong = 0;
        await Task.WhenAll(Enumerable.Range(0, 256).Select(i => Task.Run(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                var key = $"{prefix}{i}";
                var value = $"caller {i} round {round}";
                RedisClient.ThrowIfError(await _client.ExecuteAsync(["SET", key, value], 1, CancellationToken.None), "SET");
                var reply = await _client.ExecuteAsync(["GET", key], 1, CancellationToken.None);
                if (reply.AsString() != value)
                {
                    Interlocked.Increment(ref wrong);
                }
            }
        })));

        Assert.That(wrong, Is.Zero, "GET replies that did not hold the caller's own value");
    }

    [Test]
    public async Task An_8_MiB_bulk_string_round_trips()
    {
        var key = $"proto:{Guid.NewGuid():N}";
        var value = new byte[8 * 1024 * 1024];
        new Random(8).NextBytes(value);

        RedisClient.ThrowIfError(await _client.ExecuteAsync(["SET", key, value], 1, CancellationToken.None), "SET");
        var reply = await _client.ExecuteAsync(["GET", key], 1, CancellationToken.None);

        Assert.That(reply.Bytes, Is.EqualTo(value));
        await _client.ExecuteAsync(["DEL", key], 1, CancellationToken.None);
    }

    [Test]
    public async Task Server_errors_are_surfaced_with_their_text()
    {
        var key = $"proto:{Guid.NewGuid():N}";
        await _client.ExecuteAsync(["SET", key, "not a number"], 1, CancellationToken.None);

        var reply = await _client.ExecuteAsync(["INCR", key], 1, CancellationToken.None);
        var error = Assert.Throws<RedisServerException>(() => RedisClient.ThrowIfError(reply, "INCR"));

        Assert.That(error!.Message, Does.Contain("ERR value is not an integer or out of range"));
        Assert.That((await _client.ExecuteAsync(["PING"], -1, CancellationToken.None)).AsString(), Is.EqualTo("PONG"), "the connection after an error reply");
    }

    [Test]
    public async Task Cancelling_a_command_in_flight_keeps_the_connection_usable_and_in_order()
    {
        var key = $"proto:{Guid.NewGuid():N}";
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var watch = Stopwatch.StartNew();

        // BLPOP holds the (shared) connection for a second; the caller gives up after 100 ms.
        Assert.ThrowsAsync(Is.InstanceOf<OperationCanceledException>(), async () => await _client.ExecuteAsync(["BLPOP", $"{key}:list", 1], 1, cancel.Token));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromMilliseconds(900)), "the cancelled call returned only when the server answered");

        // Sent behind the BLPOP: its late nil reply must be discarded, not handed to these commands.
        await _client.ExecuteAsync(["SET", key, "after"], 1, CancellationToken.None);
        Assert.That((await _client.ExecuteAsync(["GET", key], 1, CancellationToken.None)).AsString(), Is.EqualTo("after"));
    }

    [Test]
    public async Task A_command_that_outlives_the_command_timeout_fails_with_a_TimeoutException()
    {
        var configuration = RedisConfiguration.Parse(await TestServers.RedisAsync() + ",commandTimeout=200");
        await using var client = new RedisClient(configuration);
        await client.ExecuteAsync(["PING"], -1, CancellationToken.None);

        var error = Assert.ThrowsAsync<TimeoutException>(async () => await client.ExecuteAsync(["BLPOP", $"proto:{Guid.NewGuid():N}", 1], 1, CancellationToken.None));

        Assert.That(error!.Message, Does.Contain("did not answer BLPOP within 200 ms"));

        // Commands queued behind the BLPOP time out too until it ends (replies stay in order); then the connection works.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                Assert.That((await client.ExecuteAsync(["PING"], -1, CancellationToken.None)).AsString(), Is.EqualTo("PONG"), "the connection after the timeout");
                return;
            }
            catch (TimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    [Test]
    public async Task Scripts_run_again_after_the_script_cache_is_flushed()
    {
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = await TestServers.RedisAsync() });
        var key = $"proto:{Guid.NewGuid():N}";
        var record = new SessionRecord(Encoding.UTF8.GetBytes("v1"), DateTimeOffset.UtcNow.AddHours(1), 1);
        Assert.That(await backend.SetAsync(key, record, SetCondition.IfAbsent, CancellationToken.None), Is.True);

        RedisClient.ThrowIfError(await _client.ExecuteAsync(["SCRIPT", "FLUSH"], -1, CancellationToken.None), "SCRIPT FLUSH");
        var exists = await _client.ExecuteAsync(["SCRIPT", "EXISTS", RedisScripts.SetIf.Sha1], -1, CancellationToken.None);
        Assert.That(exists.Items![0].Integer, Is.Zero, "the script is still cached after SCRIPT FLUSH");

        Assert.That(await backend.SetAsync(key, record with { Version = 2 }, SetCondition.IfVersion(1), CancellationToken.None), Is.True, "SetAsync(IfVersion) after SCRIPT FLUSH");
        Assert.That((await backend.GetAsync(key, CancellationToken.None))!.Version, Is.EqualTo(2));
    }

    [Test]
    public void A_refused_connection_fails_fast_with_a_clear_message()
    {
        var port = RedisServerProcess.FreePort();
        var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = $"127.0.0.1:{port}" });

        var error = Assert.ThrowsAsync<RedisConnectionException>(async () => await backend.GetAsync("session:x", CancellationToken.None));

        Assert.That(error!.Message, Is.EqualTo($"Redis at 127.0.0.1:{port} refused the connection; is the server running? Set Sessions:Redis:Configuration."));
        Assert.DoesNotThrowAsync(async () => await backend.DisposeAsync());
    }
}
