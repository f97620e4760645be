using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Sessions.Tool.Tests.Support;

namespace Sessions.Tool.Tests;

/// <summary>Each command end to end, on a real store (file system and Redis) filled by an app through the middleware.</summary>
[TestFixture("filesystem")]
[TestFixture("redis")]
public sealed class CommandTests(string backend) : ToolTestBase
{
    [SetUp]
    public void UseBackend() => WriteSettings(backend);

    private async Task<List<TestClient>> CreateSessionsAsync(TestApp app, int anonymous, params string[] users)
    {
        var clients = new List<TestClient>();
        for (var i = 0; i < anonymous; i++)
        {
            var client = app.NewClient();
            await client.GetAsync("/hit");
            clients.Add(client);
        }

        foreach (var user in users)
        {
            var client = app.NewClient();
            await client.GetAsync("/hit");
            await client.GetAsync($"/login?user={user}");
            clients.Add(client);
        }

        return clients;
    }

    [Test]
    public async Task List_counts_the_sessions_and_pages_them()
    {
        await using (var app = await StartAppAsync())
        {
            await CreateSessionsAsync(app, 3, "alice", "bob");
        }

        var page1 = Json(await RunToolAsync("list", "--json", "--page-size", "2"));
        var page3 = Json(await RunToolAsync("list", "--json", "--page-size", "2", "--page", "3"));
        Assert.Multiple(() =>
        {
            Assert.That(page1.GetProperty("backend").GetString(), Is.EqualTo(backend));
            Assert.That(page1.GetProperty("count").GetInt32(), Is.EqualTo(5));
            Assert.That(page1.GetProperty("pages").GetInt32(), Is.EqualTo(3));
            Assert.That(page1.GetProperty("sessions").GetArrayLength(), Is.EqualTo(2));
            Assert.That(page3.GetProperty("sessions").GetArrayLength(), Is.EqualTo(1));
            Assert.That(page1.GetProperty("sessions")[0].GetProperty("expiresAt").GetDateTimeOffset(), Is.GreaterThan(DateTimeOffset.UtcNow));
        });

        var all = Json(await RunToolAsync("list", "--json"));
        var users = all.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("userId").GetString()).Where(u => u is not null).Order();
        Assert.That(users, Is.EqualTo(new[] { "alice", "bob" }));

        var table = await RunToolAsync("list", "--page-size", "2");
        var firstHandle = page1.GetProperty("sessions")[0].GetProperty("handle").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(table.Code, Is.Zero);
            Assert.That(table.Output, Does.Contain($"5 live session(s) in '{backend}'; page 1 of 3."));
            Assert.That(table.Output, Does.Contain(firstHandle));
            Assert.That(table.Output, Does.Contain("Next page: --page 2"));
        });
    }

    [Test]
    public async Task An_app_with_protected_payloads_is_listed_without_its_key_ring()
    {
        await using (var app = await StartAppAsync())
        {
            await CreateSessionsAsync(app, 2, "alice");
        }

        // The app's settings turn ProtectPayloads on; its Data Protection key ring is set up in code the tool does not run.
        var settings = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(ConfigPath))!;
        settings["Sessions"]!["ProtectPayloads"] = true;
        File.WriteAllText(ConfigPath, settings.ToJsonString());

        var list = await RunToolAsync("list", "--json");
        Assert.That(list.Code, Is.Zero, list.Error);
        Assert.That(Json(list).GetProperty("count").GetInt32(), Is.EqualTo(3));
        Assert.That((await RunToolAsync("revoke", "--user", "alice")).Code, Is.Zero);
    }

    [Test]
    public async Task Show_decodes_a_session_by_handle_or_id_and_prints_values_only_when_asked()
    {
        TestClient client;
        await using (var app = await StartAppAsync())
        {
            client = (await CreateSessionsAsync(app, 0, "carol"))[0];
        }

        var listed = Json(await RunToolAsync("list", "--json")).GetProperty("sessions")[0];
        var handle = listed.GetProperty("handle").GetString()!;
        var byHandle = Json(await RunToolAsync("show", handle, "--json"));
        var byId = Json(await RunToolAsync("show", client.SessionId!, "--json", "--values"));
        Assert.Multiple(() =>
        {
            Assert.That(byHandle.GetProperty("userId").GetString(), Is.EqualTo("carol"));
            Assert.That(byHandle.GetProperty("handle").GetString(), Is.EqualTo(handle));
            Assert.That(byHandle.GetProperty("createdAt").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(5)));
            Assert.That(byHandle.GetProperty("version").GetInt64(), Is.GreaterThanOrEqualTo(1));
            var values = byHandle.GetProperty("values").EnumerateArray().ToDictionary(v => v.GetProperty("key").GetString()!);
            Assert.That(values.Keys, Is.EquivalentTo(new[] { "n", "greeting" }));
            Assert.That(values["greeting"].GetProperty("bytes").GetInt32(), Is.EqualTo("hello carol".Length));
            Assert.That(values["greeting"].GetProperty("value").ValueKind, Is.EqualTo(JsonValueKind.Null), "values only with --values");
            Assert.That(byId.GetProperty("handle").GetString(), Is.EqualTo(handle), "the same session by its ID");
            var withValues = byId.GetProperty("values").EnumerateArray().ToDictionary(v => v.GetProperty("key").GetString()!);
            Assert.That(withValues["greeting"].GetProperty("value").GetString(), Is.EqualTo("hello carol"));
        });

        var table = await RunToolAsync("show", handle);
        Assert.Multiple(() =>
        {
            Assert.That(table.Code, Is.Zero);
            Assert.That(table.Output, Does.Contain("carol").And.Contain("greeting").And.Contain("expires (UTC)"));
            Assert.That(table.Output, Does.Not.Contain("hello carol"));
        });

        var missing = await RunToolAsync("show", "no-such-handle");
        Assert.Multiple(() =>
        {
            Assert.That(missing.Code, Is.EqualTo(4));
            Assert.That(missing.Error, Does.Contain("sessions list"));
        });
    }

    [Test]
    public async Task Revoke_user_then_the_app_refuses_the_revoked_cookies()
    {
        await using var app = await StartAppAsync();
        var clients = await CreateSessionsAsync(app, 1, "dave", "dave", "erin");
        Assert.That(await clients[1].GetAsync("/whoami"), Is.EqualTo("dave"));

        var revoked = Json(await RunToolAsync("revoke", "--user", "dave", "--json"));
        Assert.That(revoked.GetProperty("revoked").GetInt32(), Is.EqualTo(2));

        Assert.Multiple(async () =>
        {
            Assert.That(await clients[1].GetAsync("/whoami"), Is.Empty, "dave's first cookie is refused");
            Assert.That(await clients[2].GetAsync("/whoami"), Is.Empty, "dave's second cookie is refused");
            Assert.That(await clients[3].GetAsync("/whoami"), Is.EqualTo("erin"), "other users keep their sessions");
            Assert.That(await clients[0].GetAsync("/read"), Is.EqualTo("1"), "anonymous sessions are untouched");
        });

        var table = await RunToolAsync("revoke", "--user", "dave");
        Assert.That(table.Output, Does.Contain("Revoked 0 session(s)"));
    }

    [Test]
    public async Task Revoke_by_handle_ends_one_session()
    {
        await using var app = await StartAppAsync();
        var clients = await CreateSessionsAsync(app, 1, "frank");
        var sessions = Json(await RunToolAsync("list", "--json")).GetProperty("sessions").EnumerateArray().ToList();
        var anonymous = sessions.Single(s => s.GetProperty("userId").ValueKind == JsonValueKind.Null).GetProperty("handle").GetString()!;
        var franks = sessions.Single(s => s.GetProperty("userId").GetString() == "frank").GetProperty("handle").GetString()!;

        Assert.That((await RunToolAsync("revoke", anonymous)).Code, Is.Zero);
        Assert.That((await RunToolAsync("revoke", franks)).Output, Does.Contain("Revoked 1 session(s)"));
        Assert.Multiple(async () =>
        {
            Assert.That(await clients[0].GetAsync("/read"), Is.EqualTo("0"), "the anonymous session is gone");
            Assert.That(await clients[1].GetAsync("/whoami"), Is.Empty, "frank's session is gone");
            Assert.That((await RunToolAsync("revoke", anonymous)).Code, Is.EqualTo(4), "a second revoke finds nothing");
        });
    }

    [Test]
    public async Task Stats_counts_by_age_and_size()
    {
        await using (var app = await StartAppAsync())
        {
            await CreateSessionsAsync(app, 4, "gina", "gina", "hal");
        }

        var stats = Json(await RunToolAsync("stats", "--json"));
        int Bucket(string property, string label) => stats.GetProperty(property).EnumerateArray().Single(b => b.GetProperty("bucket").GetString() == label).GetProperty("count").GetInt32();
        Assert.Multiple(() =>
        {
            Assert.That(stats.GetProperty("count").GetInt32(), Is.EqualTo(7));
            Assert.That(stats.GetProperty("users").GetInt32(), Is.EqualTo(2));
            Assert.That(stats.GetProperty("unreadable").GetInt32(), Is.Zero);
            Assert.That(Bucket("byAge", "< 1 h"), Is.EqualTo(7));
            Assert.That(Bucket("bySize", "<= 1 KiB"), Is.EqualTo(7));
            Assert.That(stats.GetProperty("totalBytes").GetInt64(), Is.Positive);
        });

        var table = await RunToolAsync("stats");
        Assert.That(table.Output, Does.Contain("7 live session(s)").And.Contain("2 signed-in user(s)").And.Contain("<= 1 KiB"));
    }

    [Test]
    public async Task Purge_deletes_expired_sessions_where_the_store_does_not_expire_them_itself()
    {
        // The app runs an hour in the past with a 20-minute idle timeout: its sessions expired 40 minutes ago.
        var past = new FakeTimeProvider(DateTimeOffset.UtcNow - TimeSpan.FromHours(1));
        await using (var app = await StartAppAsync(time: past))
        {
            await CreateSessionsAsync(app, 3);
        }

        var purge = Json(await RunToolAsync("purge", "--json"));
        if (backend == "redis")
        {
            Assert.Multiple(() =>
            {
                Assert.That(purge.GetProperty("nativeExpiry").GetBoolean(), Is.True);
                Assert.That(purge.GetProperty("purged").GetInt64(), Is.Zero);
            });
            Assert.That((await RunToolAsync("purge")).Output, Does.Contain("expires sessions itself"));
            return;
        }

        Assert.Multiple(() =>
        {
            Assert.That(purge.GetProperty("nativeExpiry").GetBoolean(), Is.False);
            Assert.That(purge.GetProperty("purged").GetInt64(), Is.EqualTo(3));
        });
        Assert.That((await RunToolAsync("purge")).Output, Does.Contain("Purged 0 expired record(s)"), "a second purge finds nothing left");
    }
}
