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
    public async Task A_backend_that_cannot_list_keys_is_exit_code_5_and_says_what_still_works()
    {
        var run = await RunToolAsync("list", "--backend", "memcached");
        Assert.Multiple(() =>
        {
            Assert.That(run.Code, Is.EqualTo(5));
            Assert.That(run.Error, Does.Contain("cannot list its keys").And.Contain("revoke --user"));
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
