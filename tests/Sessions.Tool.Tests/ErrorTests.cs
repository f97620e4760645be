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
            Assert.That(run.Error, Does.Contain("Sessions:Redis:Configuration").And.Contain("Sessions:Backend is 'redis'"));
        });
    }

    [Test]
    public async Task Copy_from_a_memcached_that_is_down_names_the_memcached_setting()
    {
        // The backend in force is the file system; the store that fails is the copy's source.
        var down = $"127.0.0.1:{Conformance.ServerProcess.FreeLoopbackPort()}";
        WriteSettings("filesystem", memcachedServers: down);
        var run = await RunToolAsync("copy", "--from", "memcached", "--to", "redis");
        Assert.Multiple(() =>
        {
            Assert.That(run.Code, Is.EqualTo(3));
            Assert.That(run.Error, Does.Contain("'memcached' store failed").And.Contain($"Sessions:Memcached:Servers (now {down})"));
            Assert.That(run.Error, Does.Not.Contain("filesystem").And.Not.Contain("Sessions:Backend"));
        });
    }

    [Test]
    public async Task Copy_to_a_memcached_that_is_down_names_the_memcached_setting()
    {
        var down = $"127.0.0.1:{Conformance.ServerProcess.FreeLoopbackPort()}";
        WriteSettings("filesystem", memcachedServers: down);
        await using (var app = await StartAppAsync())
        {
            await app.NewClient().GetAsync("/hit");
        }

        var run = await RunToolAsync("copy", "--from", "filesystem", "--to", "memcached");
        Assert.Multiple(() =>
        {
            Assert.That(run.Code, Is.EqualTo(3));
            Assert.That(run.Error, Does.Contain("'memcached' store failed").And.Contain($"Sessions:Memcached:Servers (now {down})"));
            Assert.That(run.Error, Does.Not.Contain("Sessions:FileSystem").And.Not.Contain("Sessions:Backend"));
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

        // During a migration off memcached, list covers both stores, memcached listed the same way.
        File.WriteAllText(ConfigPath, File.ReadAllText(ConfigPath).Replace("\"Backend\":\"memcached\"", "\"Backend\":\"memcached\",\"Migration\":{\"From\":\"memcached\",\"To\":\"redis\"}", StringComparison.Ordinal));
        var migrating = await RunToolAsync("list", "--json");
        Assert.That(migrating.Code, Is.Zero, migrating.Error);
        Assert.That(Json(migrating).GetProperty("count").GetInt32(), Is.EqualTo(6), "the migration's two stores, listed");
        WriteSettings("memcached", memcachedServers: $"127.0.0.1:{port}");

        var copy = Json(await RunToolAsync("copy", "--from", "memcached", "--to", "redis", "--json"));
        Assert.That(copy.GetProperty("copied").GetInt32(), Is.EqualTo(6));
        await using var onRedis = await StartAppAsync("redis");
        Assert.That(await onRedis.Attach(clients[5]).GetAsync("/read"), Is.EqualTo("1"));
    }

    [Test]
    public async Task An_unknown_command_is_one_message_with_the_commands_and_exit_code_1()
    {
        var run = await RunToolAsync("bogus");
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Multiple(() =>
        {
            Assert.That(run.Code, Is.EqualTo(1));
            Assert.That(lines, Has.Length.EqualTo(1), run.Error);
            Assert.That(lines[0], Does.Contain("'bogus' is not a sessions command").And.Contain("list, show, revoke, purge, stats, copy"));
            Assert.That(run.Output, Is.Empty);
        });
    }

    [Test]
    public async Task A_handle_that_starts_like_a_short_option_is_still_a_handle()
    {
        // Handles and IDs are base64url: "-c..." must not be read as "-c ..." (--config), which left show without its argument.
        var run = await RunToolAsync("show", "-cAAAAAAAAAAAAAAAAAAAAA");
        Assert.Multiple(() =>
        {
            Assert.That(run.Code, Is.EqualTo(4), run.Error);
            Assert.That(run.Error, Does.Contain("'-cAAAAAAAAAAAAAAAAAAAAA'"));
        });
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
