using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>Expiry is decided by the injected <see cref="TimeProvider"/>, on every read and write.</summary>
public sealed class ExpiryTests : FileSystemBackendTestBase
{
    private static readonly DateTimeOffset s_start = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task A_record_is_invisible_from_its_expiry_on_according_to_the_injected_clock()
    {
        var clock = new FakeTimeProvider(s_start);
        var backend = NewBackend(time: clock);
        await backend.SetAsync("session:t", Record("x", s_start.AddMinutes(10)), SetCondition.Always, default);

        clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromTicks(1));
        Assert.That(await backend.GetAsync("session:t", default), Is.Not.Null, "one tick before its expiry");

        clock.Advance(TimeSpan.FromTicks(1));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.GetAsync("session:t", default), Is.Null, "at its expiry");
            Assert.That(await ToListAsync(backend.EnumerateKeysAsync("", default)), Is.Empty);
            Assert.That(await backend.TouchAsync("session:t", s_start.AddHours(1), default), Is.False);
            Assert.That(File.Exists(ExpectedPath(backend, "session:t")), "still on disk until purged");
        }
    }

    [Test]
    public async Task Removing_an_expired_record_reports_false_and_deletes_its_file()
    {
        var clock = new FakeTimeProvider(s_start);
        var backend = NewBackend(time: clock);
        await backend.SetAsync("session:t", Record("x", s_start.AddMinutes(1)), SetCondition.Always, default);
        clock.Advance(TimeSpan.FromMinutes(2));

        Assert.That(await backend.RemoveAsync("session:t", null, default), Is.False);
        Assert.That(File.Exists(ExpectedPath(backend, "session:t")), Is.False);
    }

    [Test]
    public async Task Purge_deletes_exactly_the_expired_records()
    {
        var clock = new FakeTimeProvider(s_start);
        var backend = NewBackend(time: clock);
        for (var i = 0; i < 30; i++)
        {
            var ttl = i % 3 == 0 ? TimeSpan.FromMinutes(1) : TimeSpan.FromHours(1);
            await backend.SetAsync($"session:p{i}", Record("x", s_start + ttl), SetCondition.Always, default);
        }

        clock.Advance(TimeSpan.FromMinutes(5));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await backend.PurgeExpiredAsync(default), Is.EqualTo(10));
            Assert.That(Directory.GetFiles(backend.RootDirectory, "*.session", SearchOption.AllDirectories), Has.Length.EqualTo(20));
            Assert.That(await ToListAsync(backend.EnumerateKeysAsync("session:p", default)), Has.Count.EqualTo(20));
            Assert.That(await backend.PurgeExpiredAsync(default), Is.Zero, "a second purge finds nothing");
        }
    }

    [Test]
    public async Task Purge_removes_temp_files_orphaned_for_over_a_minute_and_keeps_fresh_ones()
    {
        var backend = NewBackend();
        await backend.SetAsync("session:live", Record("x", InAnHour), SetCondition.Always, default);
        var shard = Path.GetDirectoryName(ExpectedPath(backend, "session:live"))!;
        var orphan = Path.Combine(shard, $"{HashHex("session:live")}.{Guid.NewGuid():N}.tmp");
        var fresh = Path.Combine(shard, $"{HashHex("session:live")}.{Guid.NewGuid():N}.tmp");
        await File.WriteAllTextAsync(orphan, "left by a crash");
        await File.WriteAllTextAsync(fresh, "being written");
        File.SetLastWriteTimeUtc(orphan, DateTime.UtcNow.AddMinutes(-2));

        var purged = await backend.PurgeExpiredAsync(default);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(purged, Is.Zero, "temp files are not records");
            Assert.That(orphan, Does.Not.Exist);
            Assert.That(fresh, Does.Exist);
            Assert.That(TextOf(await backend.GetAsync("session:live", default)), Is.EqualTo("x"));
        }
    }

    [Test]
    public async Task Purge_and_enumeration_honour_cancellation()
    {
        var backend = NewBackend();
        for (var i = 0; i < 5; i++)
        {
            await backend.SetAsync($"session:c{i}", Record("x", InAnHour), SetCondition.Always, default);
        }

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        Assert.That(async () => await backend.PurgeExpiredAsync(cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await ToListAsync(backend.EnumerateKeysAsync("", cancelled.Token)), Throws.InstanceOf<OperationCanceledException>());
    }
}
