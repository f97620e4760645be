using Sessions.Tool.Tests.Support;

namespace Sessions.Tool.Tests;

/// <summary><c>copy</c> from the file system to Redis: interrupted and resumed, idempotent, never over a newer record.</summary>
public sealed class CopyTests : ToolTestBase
{
    private const int Anonymous = 24;

    private async Task<List<TestClient>> SeedFileSystemAsync()
    {
        WriteSettings("filesystem");
        var clients = new List<TestClient>();
        await using var app = await StartAppAsync();
        for (var i = 0; i < Anonymous; i++)
        {
            var client = app.NewClient();
            for (var hit = 0; hit <= i % 3; hit++)
            {
                await client.GetAsync("/hit");
            }

            clients.Add(client);
        }

        foreach (var user in new[] { "ivy", "ivy", "jack" })
        {
            var client = app.NewClient();
            await client.GetAsync("/hit");
            await client.GetAsync($"/login?user={user}");
            clients.Add(client);
        }

        return clients;
    }

    [Test]
    public async Task Copy_interrupted_then_resumed_moves_every_session_once_and_the_app_reads_them_on_the_new_store()
    {
        var clients = await SeedFileSystemAsync();
        var records = Anonymous + 3 + 2; // sessions + the user indexes of ivy and jack

        using (var interrupt = new CancellationTokenSource())
        {
            var first = await RunToolAsync(interrupt.Token, c =>
            {
                if (c.Seen == 10)
                {
                    interrupt.Cancel();
                }
            }, "copy", "--from", "filesystem", "--to", "redis", "--json");
            Assert.Multiple(() =>
            {
                Assert.That(first.Code, Is.EqualTo(130), "interrupted");
                Assert.That(first.Error, Does.Contain("run the command again"));
            });
        }

        var resumed = Json(await RunToolAsync("copy", "--from", "filesystem", "--to", "redis", "--json"));
        Assert.Multiple(() =>
        {
            Assert.That(resumed.GetProperty("complete").GetBoolean(), Is.True);
            Assert.That(resumed.GetProperty("seen").GetInt32(), Is.EqualTo(records));
            Assert.That(resumed.GetProperty("upToDate").GetInt32(), Is.EqualTo(10), "what the interrupted run copied is skipped");
            Assert.That(resumed.GetProperty("copied").GetInt32(), Is.EqualTo(records - 10));
            Assert.That(resumed.GetProperty("newerInTarget").GetInt32(), Is.Zero);
        });

        var again = Json(await RunToolAsync("copy", "--from", "filesystem", "--to", "redis", "--json"));
        Assert.Multiple(() =>
        {
            Assert.That(again.GetProperty("upToDate").GetInt32(), Is.EqualTo(records), "idempotent");
            Assert.That(again.GetProperty("copied").GetInt32() + again.GetProperty("updated").GetInt32() + again.GetProperty("merged").GetInt32(), Is.Zero);
        });

        // The app switched to Redis: every client keeps its session, counter and user.
        WriteSettings("redis");
        await using var app = await StartAppAsync();
        for (var i = 0; i < Anonymous; i++)
        {
            Assert.That(await app.Attach(clients[i]).GetAsync("/read"), Is.EqualTo(((i % 3) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), $"client {i}");
        }

        Assert.That(await app.Attach(clients[Anonymous]).GetAsync("/whoami"), Is.EqualTo("ivy"));
        var listed = Json(await RunToolAsync("list", "--json"));
        Assert.That(listed.GetProperty("count").GetInt32(), Is.EqualTo(Anonymous + 3));

        // The copied user index works on the new store: revoking ivy there ends both of her sessions.
        Assert.That(Json(await RunToolAsync("revoke", "--user", "ivy", "--json")).GetProperty("revoked").GetInt32(), Is.EqualTo(2));
        Assert.That(await app.Attach(clients[Anonymous + 1]).GetAsync("/whoami"), Is.Empty);
    }

    [Test]
    public async Task Copy_never_overwrites_a_newer_record_and_updates_an_older_one()
    {
        var clients = await SeedFileSystemAsync();
        Json(await RunToolAsync("copy", "--from", "filesystem", "--to", "redis", "--json"));

        // Client 0 moves on in Redis (newer there); client 1 moves on in the file system (newer in the source).
        await using (var onRedis = await StartAppAsync("redis"))
        {
            Assert.That(await onRedis.Attach(clients[0]).GetAsync("/hit"), Is.EqualTo("2"));
            Assert.That(await onRedis.Attach(clients[0]).GetAsync("/hit"), Is.EqualTo("3"));
        }

        await using (var onFiles = await StartAppAsync("filesystem"))
        {
            Assert.That(await onFiles.Attach(clients[0]).GetAsync("/hit"), Is.EqualTo("2"), "the file system still has the old record");
            Assert.That(await onFiles.Attach(clients[1]).GetAsync("/hit"), Is.EqualTo("3"));
        }

        var copy = Json(await RunToolAsync("copy", "--from", "filesystem", "--to", "redis", "--json"));
        Assert.Multiple(() =>
        {
            Assert.That(copy.GetProperty("newerInTarget").GetInt32(), Is.EqualTo(1), "client 0: Redis is ahead, left alone");
            Assert.That(copy.GetProperty("updated").GetInt32(), Is.EqualTo(1), "client 1: the file system is ahead, copied over the older record");
            Assert.That(copy.GetProperty("copied").GetInt32(), Is.Zero);
        });

        await using var app = await StartAppAsync("redis");
        Assert.Multiple(async () =>
        {
            Assert.That(await app.Attach(clients[0]).GetAsync("/read"), Is.EqualTo("3"), "the newer record in Redis was not overwritten");
            Assert.That(await app.Attach(clients[1]).GetAsync("/read"), Is.EqualTo("3"), "the older record in Redis was updated");
        });
    }

    [Test]
    public async Task Copy_with_a_limit_stops_and_says_how_to_go_on()
    {
        await SeedFileSystemAsync();
        var batch = Json(await RunToolAsync("copy", "--from", "filesystem", "--to", "redis", "--limit", "5", "--json"));
        Assert.Multiple(() =>
        {
            Assert.That(batch.GetProperty("complete").GetBoolean(), Is.False);
            Assert.That(batch.GetProperty("seen").GetInt32(), Is.EqualTo(5));
            Assert.That(batch.GetProperty("copied").GetInt32(), Is.EqualTo(5));
        });

        var table = await RunToolAsync("copy", "--from", "filesystem", "--to", "redis");
        Assert.Multiple(() =>
        {
            Assert.That(table.Code, Is.Zero);
            Assert.That(table.Output, Does.Contain("5 already up to date").And.Contain("Copy complete."));
        });
    }

    [Test]
    public async Task Copy_moves_when_the_migration_names_the_same_stores()
    {
        var clients = await SeedFileSystemAsync();
        var settings = File.ReadAllText(ConfigPath).Replace("\"Backend\":\"filesystem\"", "\"Backend\":\"filesystem\",\"Migration\":{\"From\":\"filesystem\",\"To\":\"redis\"}", StringComparison.Ordinal);
        File.WriteAllText(ConfigPath, settings);

        var moved = Json(await RunToolAsync("copy", "--from", "filesystem", "--to", "redis", "--json"));
        Assert.Multiple(() =>
        {
            Assert.That(moved.GetProperty("mode").GetString(), Is.EqualTo("move"));
            Assert.That(moved.GetProperty("copied").GetInt32(), Is.EqualTo(Anonymous + 3 + 2));
        });

        WriteSettings("filesystem"); // Sessions:Migration wins over Sessions:Backend: drop it to look at the old store alone.
        var left = Json(await RunToolAsync("list", "--json"));
        Assert.That(left.GetProperty("count").GetInt32(), Is.Zero, "the sessions left the old store");
        WriteSettings("redis");
        await using var app = await StartAppAsync();
        Assert.That(await app.Attach(clients[2]).GetAsync("/read"), Is.EqualTo("3"));
    }
}
