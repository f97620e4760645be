using NUnit.Framework;
using Sessions.Backends;
using Sessions.Memcached.Tests.Support;

namespace Sessions.Memcached.Tests;

// Values up to the server's item size limit are stored; beyond it the error says what the limit is and how to raise it.
[TestFixture]
public sealed class ItemSizeLimitTests
{
    private MemcachedServers _servers = null!;

    [OneTimeSetUp]
    public async Task StartServerAsync()
    {
        if (MemcachedServers.External is not null)
        {
            Assert.Ignore($"needs a server started with a known item size limit (-I 1m); {MemcachedServers.EnvironmentVariable} points at an external one.");
        }

        _servers = await MemcachedServers.StartAsync(1, itemSizeLimit: "1m");
    }

    [OneTimeTearDown]
    public async Task StopServerAsync()
    {
        if (_servers is not null)
        {
            await _servers.DisposeAsync();
        }
    }

    [Test]
    public async Task A_record_over_the_item_size_limit_fails_with_a_clear_error_and_the_connection_stays_usable()
    {
        await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = _servers.Servers, ConnectionsPerServer = 1 });
        var key = Keys.SessionLike(Guid.NewGuid().ToString());
        var tooLarge = new SessionRecord(new byte[1100 * 1024], DateTimeOffset.UtcNow.AddMinutes(5), 1);

        var ex = Assert.ThrowsAsync<MemcachedItemTooLargeException>(async () => await backend.SetAsync(key, tooLarge, SetCondition.Always, CancellationToken.None));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.Message, Does.Contain($"memcached at {_servers.Addresses[0]}"));
            Assert.That(ex.Message, Does.Contain("item size limit"));
            Assert.That(ex.Message, Does.Contain("-I"));
            Assert.That(ex.ValueBytes, Is.EqualTo((1100 * 1024) + 17));
            Assert.That(ex.Server, Is.EqualTo(_servers.Addresses[0]));
        }

        // memcached swallowed the refused value: the same connection answers the next calls correctly.
        Assert.That(await backend.GetAsync(key, CancellationToken.None), Is.Null, "the refused record");
        var fits = new SessionRecord(new byte[900 * 1024], DateTimeOffset.UtcNow.AddMinutes(5), 2);
        Assert.That(await backend.SetAsync(key, fits, SetCondition.IfAbsent, CancellationToken.None), Is.True, "a 900 KiB record under the 1 MB limit");
        Assert.That((await backend.GetAsync(key, CancellationToken.None))?.Payload.Length, Is.EqualTo(900 * 1024));
    }

    [Test]
    public async Task A_record_over_the_limit_is_never_sent_so_the_stored_record_survives()
    {
        await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = _servers.Servers, ConnectionsPerServer = 1 });
        var key = Keys.SessionLike(Guid.NewGuid().ToString());
        var stored = new SessionRecord(new byte[900 * 1024], DateTimeOffset.UtcNow.AddMinutes(5), 1);
        Assert.That(await backend.SetAsync(key, stored, SetCondition.Always, CancellationToken.None), Is.True, "setting up: a 900 KiB record");

        var justOver = new SessionRecord(new byte[backend.MaxPayloadBytes + 1], DateTimeOffset.UtcNow.AddMinutes(5), 2);
        var ex = Assert.ThrowsAsync<MemcachedItemTooLargeException>(async () => await backend.SetAsync(key, justOver, SetCondition.IfVersion(1), CancellationToken.None));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.Message, Does.Contain("was not sent"));
            Assert.That((await backend.GetAsync(key, CancellationToken.None))?.Version, Is.EqualTo(1), "memcached deletes an item on a refused oversized set; the backend must not send one");
        }

        var atLimit = new SessionRecord(new byte[backend.MaxPayloadBytes], DateTimeOffset.UtcNow.AddMinutes(5), 2);
        var longKey = "session:" + new string('k', 242);
        Assert.That(await backend.SetAsync(longKey, atLimit, SetCondition.Always, CancellationToken.None), Is.True, "a payload of exactly MaxPayloadBytes under the longest key fits memcached's -I 1m");
        Assert.That((await backend.GetAsync(longKey, CancellationToken.None))?.Payload.Length, Is.EqualTo(backend.MaxPayloadBytes));
    }
}
