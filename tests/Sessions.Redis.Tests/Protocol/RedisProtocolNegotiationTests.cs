using System.Text;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Protocol;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests.Protocol;

/// <summary>
/// RESP3 where the server offers it: what each server negotiates (checked on the server's side too, with
/// <c>CLIENT INFO</c>), forcing a protocol, falling back to RESP2 when <c>HELLO</c> fails, credentials folded into
/// <c>HELLO</c>, and the backend's replies reading the same under both protocols.
/// </summary>
[TestFixture]
public sealed class RedisProtocolNegotiationTests
{
    private readonly List<RedisServerProcess> _servers = [];

    public static IEnumerable<TestCaseData> Servers()
    {
        yield return new TestCaseData("redis-server").SetArgDisplayNames("redis-server");
        yield return new TestCaseData("garnet").SetArgDisplayNames("garnet");
        yield return new TestCaseData("cluster").SetArgDisplayNames("cluster");
    }

    [OneTimeTearDown]
    public void StopServers()
    {
        foreach (var server in _servers)
        {
            server.Stop();
        }
    }

    [TestCaseSource(nameof(Servers))]
    public async Task Every_server_negotiates_RESP3_by_default(string server)
    {
        await using var client = new RedisClient(RedisConfiguration.Parse(await ConfigurationOf(server)));
        Assert.That(client.Protocol, Is.Null, "before the first command");

        await client.ExecuteAsync(["PING"], -1, CancellationToken.None);

        Assert.That(client.Protocol, Is.EqualTo(RedisProtocol.Resp3));
        Assert.That(await ServerSideProtocolAsync(client), Is.EqualTo("3"), "CLIENT INFO resp=, as the server sees the connection");
    }

    [TestCaseSource(nameof(Servers))]
    public async Task Forcing_RESP2_keeps_the_connection_in_RESP2_and_the_backend_works(string server)
    {
        var configuration = await ConfigurationOf(server) + ",protocol=resp2";
        await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = configuration });
        var key = $"session:resp2-{Guid.NewGuid():N}";
        var record = new SessionRecord(Encoding.UTF8.GetBytes("over RESP2"), DateTimeOffset.UtcNow.AddHours(1), 1);

        Assert.That(await backend.SetAsync(key, record, SetCondition.IfAbsent, CancellationToken.None), Is.True);
        Assert.That(await backend.SetAsync(key, record with { Version = 2 }, SetCondition.IfVersion(1), CancellationToken.None), Is.True);
        Assert.That(await backend.SetAsync(key, record with { Version = 3 }, SetCondition.IfVersion(1), CancellationToken.None), Is.False, "a stale version");
        Assert.That((await backend.GetAsync(key, CancellationToken.None))!.Version, Is.EqualTo(2));
        Assert.That(await backend.TouchAsync(key, DateTimeOffset.UtcNow.AddHours(2), CancellationToken.None), Is.True);
        Assert.That(await ToListAsync(backend.EnumerateKeysAsync(key, CancellationToken.None)), Is.EqualTo(new[] { key }));
        Assert.That(await backend.RemoveAsync(key, 2, CancellationToken.None), Is.True);
        Assert.That(await backend.GetAsync(key, CancellationToken.None), Is.Null, "a missing key: nil in RESP2");
        Assert.That(async () => await backend.ProbeAsync(CancellationToken.None), Throws.Nothing);

        Assert.That(backend.Client.Protocol, Is.EqualTo(RedisProtocol.Resp2));
        Assert.That(await ServerSideProtocolAsync(backend.Client), Is.EqualTo("2"));
    }

    [TestCaseSource(nameof(Servers))]
    public async Task The_backends_commands_read_the_same_under_RESP2_and_RESP3(string server)
    {
        var configuration = await ConfigurationOf(server);
        var resp2 = await RunScriptedCommandsAsync(configuration + ",protocol=resp2", RedisProtocol.Resp2);
        var resp3 = await RunScriptedCommandsAsync(configuration + ",protocol=resp3", RedisProtocol.Resp3);

        TestContext.Out.WriteLine(string.Join(Environment.NewLine, resp3));
        Assert.That(resp3, Is.EqualTo(resp2));
        Assert.That(resp3, Does.Contain("GET (missing) -> nil"));
        Assert.That(resp3, Does.Contain("EVAL return false -> nil"), "Lua false becomes nil in RESP2 and null in RESP3");
        Assert.That(resp3, Does.Contain("EVAL return true -> 1"));
        Assert.That(resp3, Does.Contain("ZSCORE -> \"1.5\""), "a double in RESP3, a bulk string in RESP2");
        Assert.That(resp3, Does.Contain("HGETALL -> [\"f\", \"v\"]"), "a map in RESP3, a flat array in RESP2");
    }

    [Test]
    public async Task A_server_without_HELLO_falls_back_to_RESP2_and_AUTH()
    {
        var server = await StartWithPasswordAsync("--rename-command HELLO \"\"", "redis-server (no HELLO)");
        var configuration = $"{server.Endpoint},password=s3cret,name=no-hello,defaultDatabase=2";
        await using (var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = configuration }))
        {
            var record = new SessionRecord(Encoding.UTF8.GetBytes("fallback"), DateTimeOffset.UtcNow.AddHours(1), 1);
            Assert.That(await backend.SetAsync("session:fallback", record, SetCondition.Always, CancellationToken.None), Is.True);
            Assert.That((await backend.GetAsync("session:fallback", CancellationToken.None))!.Version, Is.EqualTo(1));
            Assert.That(backend.Client.Protocol, Is.EqualTo(RedisProtocol.Resp2));
            var info = (await backend.Client.ExecuteAsync(["CLIENT", "INFO"], -1, CancellationToken.None)).AsString();
            Assert.That(info, Does.Contain("resp=2").And.Contain("name=no-hello").And.Contain("db=2"));
        }

        await using var forced = new RedisClient(RedisConfiguration.Parse(configuration + ",protocol=resp3"));
        var error = Assert.ThrowsAsync<RedisConnectionException>(async () => await forced.ExecuteAsync(["PING"], -1, CancellationToken.None));
        Assert.That(error!.Message, Does.Contain("does not speak RESP3").And.Contain("unknown command"));

        await using var withoutPassword = new RedisClient(RedisConfiguration.Parse(server.Endpoint));
        error = Assert.ThrowsAsync<RedisConnectionException>(async () => await withoutPassword.ExecuteAsync(["PING"], -1, CancellationToken.None));
        Assert.That(error!.Message, Does.Contain("requires a password"));
    }

    [Test]
    public async Task HELLO_carries_the_password_the_client_name_and_is_followed_by_SELECT()
    {
        var server = await StartWithPasswordAsync("", "redis-server (requirepass)");
        await using (var client = new RedisClient(RedisConfiguration.Parse($"redis://:s3cret@{server.Endpoint}/3?name=hello-app")))
        {
            var info = (await client.ExecuteAsync(["CLIENT", "INFO"], -1, CancellationToken.None)).AsString();
            Assert.That(client.Protocol, Is.EqualTo(RedisProtocol.Resp3));
            Assert.That(info, Does.Contain("resp=3").And.Contain("name=hello-app").And.Contain("db=3").And.Contain("user=default"));
        }

        await using var withoutPassword = new RedisClient(RedisConfiguration.Parse(server.Endpoint));
        var error = Assert.ThrowsAsync<RedisConnectionException>(async () => await withoutPassword.ExecuteAsync(["PING"], -1, CancellationToken.None));
        Assert.That(error!.Message, Does.Contain("requires a password"), "HELLO without AUTH answers NOAUTH; the RESP2 path then says what to set");

        await using var wrongPassword = new RedisClient(RedisConfiguration.Parse($"{server.Endpoint},password=nope"));
        error = Assert.ThrowsAsync<RedisConnectionException>(async () => await wrongPassword.ExecuteAsync(["PING"], -1, CancellationToken.None));
        Assert.That(error!.Message, Does.Contain("rejected the credentials").And.Contain("WRONGPASS"));
    }

    [TestCase("127.0.0.1:6379", null)]
    [TestCase("127.0.0.1:6379,protocol=auto", null)]
    [TestCase("127.0.0.1:6379,protocol=resp2", 2)]
    [TestCase("127.0.0.1:6379,Protocol=RESP3", 3)]
    [TestCase("127.0.0.1:6379,protocol=3", 3)]
    [TestCase("redis://127.0.0.1:6379?protocol=resp2", 2)]
    [TestCase("rediss://u:p@127.0.0.1:6380/1?protocol=resp3&commandTimeout=100", 3)]
    public void The_protocol_is_read_from_the_configuration_string(string text, int? expected) =>
        Assert.That((int?)RedisConfiguration.Parse(text).Protocol, Is.EqualTo(expected), "2 for RESP2, 3 for RESP3, null for auto");

    [Test]
    public void An_unknown_protocol_is_refused_with_the_choices()
    {
        var error = Assert.Throws<FormatException>(() => RedisConfiguration.Parse("127.0.0.1:6379,protocol=resp4"));
        Assert.That(error!.Message, Does.Contain("must be auto, resp2 or resp3"));
    }

    private static async Task<string> ConfigurationOf(string server) => server switch
    {
        "redis-server" => await TestServers.RedisAsync(),
        "garnet" => await TestServers.GarnetAsync(),
        "cluster" => await TestServers.ClusterAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(server), server, null),
    };

    /// <summary>The <c>resp=</c> field of <c>CLIENT INFO</c>: the protocol as the server sees this connection.</summary>
    private static async Task<string?> ServerSideProtocolAsync(RedisClient client)
    {
        var info = RedisClient.ThrowIfError(await client.ExecuteAsync(["CLIENT", "INFO"], -1, CancellationToken.None), "CLIENT INFO").AsString()!;
        return info.Split(' ', '\n').FirstOrDefault(f => f.StartsWith("resp=", StringComparison.Ordinal))?["resp=".Length..];
    }

    /// <summary>Runs the commands the backend uses (and a few whose RESP3 types differ), on keys of one hash slot, and
    /// returns each reply rendered as text; cleans up, so that a second run sees the same state.</summary>
    private static async Task<List<string>> RunScriptedCommandsAsync(string configuration, RedisProtocol protocol)
    {
        await using var client = new RedisClient(RedisConfiguration.Parse(configuration));
        var tag = "{resp-compare}";
        string k = $"{tag}:k", missing = $"{tag}:missing", z = $"{tag}:z", h = $"{tag}:h", s = $"{tag}:s", f = $"{tag}:f";
        await client.ExecuteAsync(["DEL", k], 1, CancellationToken.None);
        (string What, RedisArg[] Args, int KeyIndex)[] commands =
        [
            ("SET", ["SET", k, "v"], 1),
            ("GET", ["GET", k], 1),
            ("GET (missing)", ["GET", missing], 1),
            ("EVAL return 1", ["EVAL", "return 1", 1, k], 3),
            ("EVAL return 0", ["EVAL", "return 0", 1, k], 3),
            ("EVAL return nil", ["EVAL", "return nil", 1, k], 3),
            ("EVAL return false", ["EVAL", "return false", 1, k], 3),
            ("EVAL return true", ["EVAL", "return true", 1, k], 3),
            ("EVAL return 3.7", ["EVAL", "return 3.7", 1, k], 3),
            ("EVAL return a table", ["EVAL", "return {1, 'two', {3}}", 1, k], 3),
            ("EVAL status reply", ["EVAL", "return redis.status_reply('FINE')", 1, k], 3),
            ("EVAL error reply", ["EVAL", "return redis.error_reply('MINE went wrong')", 1, k], 3),
            ("EVAL GET missing", ["EVAL", "return redis.call('GET', KEYS[1])", 1, missing], 3),
            ("EVAL GETRANGE missing", ["EVAL", "return redis.call('GETRANGE', KEYS[1], 0, 16)", 1, missing], 3),
            ("SCRIPT EXISTS", ["SCRIPT", "EXISTS", RedisScripts.SetIf.Sha1, "0000000000000000000000000000000000000000"], -1),
            ("EVALSHA unknown", ["EVALSHA", "0000000000000000000000000000000000000000", 1, k], 3),
            ("PEXPIREAT", ["PEXPIREAT", k, 4_102_444_800_000], 1),
            ("SCAN", ["SCAN", 0, "MATCH", $"{tag}:k*", "COUNT", 1000], 3),
            ("PING", ["PING"], -1),
            ("ZADD", ["ZADD", z, "1.5", "a"], 1),
            ("ZSCORE", ["ZSCORE", z, "a"], 1),
            ("HSET", ["HSET", h, "f", "v"], 1),
            ("HGETALL", ["HGETALL", h], 1),
            ("SADD", ["SADD", s, "m"], 1),
            ("SMEMBERS", ["SMEMBERS", s], 1),
            ("INCRBYFLOAT", ["INCRBYFLOAT", f, "1.5"], 1),
            ("EXISTS", ["EXISTS", k], 1),
            ("DEL", ["DEL", k, z, h, s, f], 1),
        ];

        var replies = new List<string>();
        foreach (var (what, args, keyIndex) in commands)
        {
            var reply = await client.ExecuteAsync(args, keyIndex, CancellationToken.None);
            replies.Add($"{what} -> {RespParserTests.Render(reply)}");
        }

        if (client.IsCluster == true)
        {
            var slots = await client.GetPrimariesAsync(CancellationToken.None);
            replies.Add($"CLUSTER SLOTS -> {RespParserTests.Render(await slots[0].SendAsync(["CLUSTER", "SLOTS"], asking: false, CancellationToken.None))}");
        }

        Assert.That(client.Protocol, Is.EqualTo(protocol), configuration);
        return replies;
    }

    private static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> items)
    {
        var list = new List<string>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>A redis-server that requires the password <c>s3cret</c> (set once it answers PING: readiness is polled without one).</summary>
    private async Task<RedisServerProcess> StartWithPasswordAsync(string extraArguments, string name)
    {
        var server = await Own(RedisServerProcess.StartRedisAsync(extraArguments, name: name));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Assert.That(await RedisServerProcess.RawCommandAsync(server.Port, "CONFIG SET requirepass s3cret", timeout.Token), Is.EqualTo("+OK"), "CONFIG SET requirepass");
        return server;
    }

    private async Task<RedisServerProcess> Own(Task<RedisServerProcess> starting)
    {
        var server = await TestServers.Track(starting);
        _servers.Add(server);
        return server;
    }
}
