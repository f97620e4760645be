using System.Buffers.Binary;
using System.Text;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>
/// Files are written in format 2 (a key prefix, then the <see cref="SessionRecordHeader"/> record); files of format 1,
/// which 0.x wrote, are still read, so an upgrade logs nobody out, and are rewritten in format 2 by the next write.
/// </summary>
public sealed class FileFormatTests : FileSystemBackendTestBase
{
    private const string Key = "session:upgraded";

    [Test]
    public async Task A_record_is_written_as_format_2_around_the_shared_record_header()
    {
        var backend = NewBackend();
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(InAnHour.ToUnixTimeMilliseconds());
        await backend.SetAsync(Key, Record("payload", expiresAt, 7), SetCondition.Always, default);

        var bytes = await File.ReadAllBytesAsync(ExpectedPath(backend, Key));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.ASCII.GetString(bytes, 0, 4), Is.EqualTo("SESF"));
            Assert.That(bytes[4], Is.EqualTo(2), "file format");
            Assert.That(bytes[5], Is.EqualTo(Key.Length));
            Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(6)), Is.EqualTo("payload".Length));
            Assert.That(Encoding.ASCII.GetString(bytes, 10, Key.Length), Is.EqualTo(Key));
            Assert.That(SessionRecordHeader.TryRead(bytes.AsMemory(10 + Key.Length), out var record), Is.True);
            Assert.That(record!.Version, Is.EqualTo(7));
            Assert.That(record.ExpiresAt, Is.EqualTo(expiresAt));
            Assert.That(Encoding.UTF8.GetString(record.Payload.Span), Is.EqualTo("payload"));
        }
    }

    [Test]
    public async Task A_format_1_file_from_0x_is_read_listed_and_rewritten_as_format_2()
    {
        var backend = NewBackend();
        var expiresAt = new DateTimeOffset(InAnHour.UtcTicks, TimeSpan.Zero);
        var path = ExpectedPath(backend, Key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, FormatOne(Key, "from 0.x", expiresAt, version: 41));

        var record = await backend.GetAsync(Key, default);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(TextOf(record), Is.EqualTo("from 0.x"));
            Assert.That(record!.Version, Is.EqualTo(41));
            Assert.That(record.ExpiresAt, Is.EqualTo(expiresAt));
            Assert.That(await ToListAsync(backend.EnumerateKeysAsync("session:", default)), Is.EqualTo(new[] { Key }));
            Assert.That(await backend.PurgeExpiredAsync(default), Is.Zero, "a live format 1 record is not purged");
            Assert.That(await backend.SetAsync(Key, Record("updated", InAnHour, 42), SetCondition.IfVersion(41), default), Is.True, "IfVersion against the format 1 record");
            Assert.That((await File.ReadAllBytesAsync(path))[4], Is.EqualTo(2), "rewritten as format 2");
            Assert.That(TextOf(await backend.GetAsync(Key, default)), Is.EqualTo("updated"));
        }
    }

    /// <summary>The 28-byte header layout of 0.x: magic, 1, 0, key length (uint16), expiry (UTC ticks), version, payload length, little-endian.</summary>
    private static byte[] FormatOne(string key, string payload, DateTimeOffset expiresAt, long version)
    {
        var data = Encoding.UTF8.GetBytes(payload);
        var bytes = new byte[28 + key.Length + data.Length];
        "SESF"u8.CopyTo(bytes);
        bytes[4] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(6), (ushort)key.Length);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), expiresAt.UtcTicks);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), version);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(24), data.Length);
        Encoding.ASCII.GetBytes(key, bytes.AsSpan(28));
        data.CopyTo(bytes, 28 + key.Length);
        return bytes;
    }
}
