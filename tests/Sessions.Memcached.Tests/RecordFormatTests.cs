using System.Buffers.Binary;
using System.Text;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Memcached.Tests.Support;

namespace Sessions.Memcached.Tests;

// Items are written as the shared SessionRecordHeader record (tag 1, big-endian); items 0.x wrote (tag 'S', little-endian)
// are still read, so an upgrade logs nobody out, and are rewritten in the shared layout by the next write or touch.
[TestFixture]
public sealed class RecordFormatTests
{
    [Test]
    public async Task An_item_written_by_0x_is_read_and_counts_for_IfVersion()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = servers.Servers });
        var key = Keys.SessionLike(Guid.NewGuid().ToString());
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeMilliseconds());
        var legacy = new byte[17 + 8];
        legacy[0] = 0x53;
        BinaryPrimitives.WriteInt64LittleEndian(legacy.AsSpan(1), 41);
        BinaryPrimitives.WriteInt64LittleEndian(legacy.AsSpan(9), expiresAt.ToUnixTimeMilliseconds());
        "from 0.x"u8.CopyTo(legacy.AsSpan(17));
        await UnreadableItems.WriteRawAsync(servers.Servers, key, legacy, CancellationToken.None);

        var record = await backend.GetAsync(key, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(record, Is.Not.Null);
            Assert.That(Encoding.UTF8.GetString(record!.Payload.Span), Is.EqualTo("from 0.x"));
            Assert.That(record.Version, Is.EqualTo(41));
            Assert.That(record.ExpiresAt, Is.EqualTo(expiresAt));
            Assert.That(await backend.SetAsync(key, record with { Version = 42 }, SetCondition.IfVersion(41), CancellationToken.None), Is.True, "IfVersion against the 0.x item");
            Assert.That((await backend.GetAsync(key, CancellationToken.None))!.Version, Is.EqualTo(42));
        }
    }

    [Test]
    public async Task A_record_is_stored_as_the_shared_record_header_and_payload()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = servers.Servers });
        var key = Keys.SessionLike(Guid.NewGuid().ToString());
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeMilliseconds());
        await backend.SetAsync(key, new SessionRecord("payload"u8.ToArray(), expiresAt, 7), SetCondition.Always, CancellationToken.None);

        var raw = await UnreadableItems.ReadRawAsync(servers.Servers, key, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(raw[0], Is.EqualTo(SessionRecordHeader.Tag));
            Assert.That(SessionRecordHeader.TryRead(raw.AsMemory(), out var record), Is.True);
            Assert.That(record!.Version, Is.EqualTo(7));
            Assert.That(record.ExpiresAt, Is.EqualTo(expiresAt));
            Assert.That(Encoding.UTF8.GetString(record.Payload.Span), Is.EqualTo("payload"));
        }
    }
}
