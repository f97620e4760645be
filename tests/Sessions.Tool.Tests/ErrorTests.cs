using Sessions.Tool.Tests.Support;

namespace Sessions.Tool.Tests;

/// <summary>Errors say what to set, with the documented exit codes.</summary>
public sealed class ErrorTests : ToolTestBase
{
    [Test]
    public async Task A_missing_settings_file_asks_for_config()
    {
        File.Delete(ConfigPath);
        var run = await RunToolAsync("list");
        Assert.Multiple(() =>
        {
            Assert.That(run.Code, Is.EqualTo(2));
            Assert.That(run.Error, Does.Contain("--config"));
        });
    }

    [Test]
    public async Task An_unknown_backend_lists_the_registered_ones()
    {
        var run = await RunToolAsync("list", "--backend", "cassandra");
        Assert.Multiple(() =>
        {
            Assert.That(run.Code, Is.EqualTo(2));
            Assert.That(run.Error, Does.Contain("Sessions:Backend").And.Contain("redis").And.Contain("filesystem"));
        });
    }

    [Test]
    public async Task A_store_that_does_not_answer_is_exit_code_3()
    {
        WriteSettings("redis", redisEndpoint: $"127.0.0.1:{RedisServerProcessPort()}");
        var run = await RunToolAsync("list");
        Assert.Multiple(() =>
        {
            Assert.That(run.Code, Is.EqualTo(3));
            Assert.That(run.Error, Does.Contain("Sessions:Backend (redis)"));
        });
    }

    [Test]
    public async Task Memcached_keys_are_listed_through_the_lru_crawler_and_copied_to_redis()
    {
        var port = Conformance.ServerProcess.FreeLoopbackPort();
        var memcached = Conformance.ServerProcess.FindOnPath("memcached", "run tools/setup.sh (or apt-get install -y memcached).");
        await using var server = await Conformance.ServerProcess.StartAsync(
            $"memcached on 127.0.0.1:{port}",
            memcached,
            ["-u", "root", "-l", "127.0.0.1", "-p", Conformance.ServerProcess.Arg(port), "-U", "0"],
            ct => Conformance.ServerProcess.AcceptsTcpAsync(port, ct));
        WriteSettings("memcached", memcachedServers: $"127.0.0.1:{port}");
        var clients = new List<TestClient>();
        await using (var app = await StartAppAsync())
        {
            for (var i = 0; i < 6; i++)
            {
                var client = app.NewClient();
                await client.GetAsync("/hit");
                clients.Add(client);
            }
        }

        Assert.That(Json(await RunToolAsync("list", "--json")).GetProperty("count").GetInt32(), Is.EqualTo(6));
        var copy = Json(await RunToolAsync("copy", "--from", "memcached", "--to", "redis", "--json"));
        Assert.That(copy.GetProperty("copied").GetInt32(), Is.EqualTo(6));
        await using var onRedis = await StartAppAsync("redis");
        Assert.That(await onRedis.Attach(clients[5]).GetAsync("/read"), Is.EqualTo("1"));
    }

    [Test]
    public async Task Usage_errors_are_exit_code_1()
    {
        Assert.Multiple(async () =>
        {
            Assert.That((await RunToolAsync("lst")).Code, Is.EqualTo(1));
            Assert.That((await RunToolAsync("copy", "--from", "redis")).Code, Is.EqualTo(1), "--to is required");
            Assert.That((await RunToolAsync("revoke")).Code, Is.EqualTo(1), "revoke needs --user or a handle");
        });
    }

    private static int RedisServerProcessPort() => Conformance.ServerProcess.FreeLoopbackPort();
}
