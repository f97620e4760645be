using System.Diagnostics;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>Writes take the shard's lock file exclusively; a held lock makes them wait, then time out with a clear error.</summary>
public sealed class ShardLockTests : FileSystemBackendTestBase
{
    private const string Key = "session:locked";
    private static readonly TimeSpan s_shortTimeout = TimeSpan.FromMilliseconds(300);

    public static IEnumerable<TestCaseData> Writes()
    {
        yield return new TestCaseData((Func<ISessionBackend, Task>)(b => b.SetAsync(Key, Record("y", InAnHour, 2), SetCondition.Always, default).AsTask())).SetArgDisplayNames("SetAsync(Always)");
        yield return new TestCaseData((Func<ISessionBackend, Task>)(b => b.SetAsync(Key, Record("y", InAnHour, 2), SetCondition.IfVersion(1), default).AsTask())).SetArgDisplayNames("SetAsync(IfVersion)");
        yield return new TestCaseData((Func<ISessionBackend, Task>)(b => b.RemoveAsync(Key, null, default).AsTask())).SetArgDisplayNames("RemoveAsync");
        yield return new TestCaseData((Func<ISessionBackend, Task>)(b => b.TouchAsync(Key, InAnHour, default).AsTask())).SetArgDisplayNames("TouchAsync");
    }

    [Test]
    public void FileShare_None_excludes_a_second_handle_in_the_same_process()
    {
        // The premise of the backend's locking, checked on this machine.
        var path = Path.Combine(FixtureDirectory.Path, $"premise-{Guid.NewGuid():N}.lock");
        using (HoldExclusively(path))
        {
            var second = Assert.Throws<IOException>(() => HoldExclusively(path).Dispose());
            Assert.That(ShardLocker.IsHeldByAnotherHandle(second!), Is.True, $"HResult 0x{second!.HResult:x} should be recognized as 'held elsewhere'");
        }

        Assert.That(() => HoldExclusively(path).Dispose(), Throws.Nothing, "released on dispose");
    }

    [TestCaseSource(nameof(Writes))]
    public async Task A_write_times_out_with_a_message_naming_the_lock_file_while_another_handle_holds_it(Func<ISessionBackend, Task> write)
    {
        var backend = NewBackend(o => o.LockTimeout = s_shortTimeout);
        await backend.SetAsync(Key, Record("x", InAnHour), SetCondition.Always, default);
        var lockPath = LockPathOf(backend, Key);

        TimeoutException? timeout;
        var watch = Stopwatch.StartNew();
        using (HoldExclusively(lockPath))
        {
            timeout = Assert.ThrowsAsync<TimeoutException>(() => write(backend));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(s_shortTimeout - TimeSpan.FromMilliseconds(20)), "it waits for the whole timeout");
            Assert.That(timeout!.Message, Does.Contain(lockPath).And.Contain("LockTimeout"));
            Assert.That(timeout.InnerException, Is.InstanceOf<IOException>());
            Assert.That(TextOf(await backend.GetAsync(Key, default)), Is.EqualTo("x"), "nothing was written");
        }

        await write(backend); // and goes through once the lock is released
    }

    [Test]
    public async Task A_waiting_write_proceeds_as_soon_as_the_lock_is_released()
    {
        var backend = NewBackend();
        await backend.SetAsync(Key, Record("x", InAnHour), SetCondition.Always, default);

        Task<bool> waiting;
        using (HoldExclusively(LockPathOf(backend, Key)))
        {
            waiting = backend.SetAsync(Key, Record("y", InAnHour, 2), SetCondition.IfVersion(1), default).AsTask();
            await Task.Delay(200);
            Assert.That(waiting.IsCompleted, Is.False, "the write waits while the lock is held");
        }

        Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(TextOf(await backend.GetAsync(Key, default)), Is.EqualTo("y"));
    }

    [Test]
    public async Task Waiting_for_a_lock_honours_cancellation()
    {
        var backend = NewBackend();
        await backend.SetAsync(Key, Record("x", InAnHour), SetCondition.Always, default);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        using (HoldExclusively(LockPathOf(backend, Key)))
        {
            Assert.That(
                async () => await backend.SetAsync(Key, Record("y", InAnHour, 2), SetCondition.Always, cancel.Token),
                Throws.InstanceOf<OperationCanceledException>());
        }

        Assert.That(TextOf(await backend.GetAsync(Key, default)), Is.EqualTo("x"));
    }

    [Test]
    public async Task A_lock_held_by_another_process_excludes_writers_here_until_released()
    {
        var backend = NewBackend(o => o.LockTimeout = s_shortTimeout);
        await backend.SetAsync(Key, Record("x", InAnHour), SetCondition.Always, default);
        var lockPath = LockPathOf(backend, Key);

        using var holder = RaceWorkerProcess.Start("hold", lockPath);
        Assert.That(await holder.ReadLineAsync(), Is.EqualTo("holding"));

        var timeout = Assert.ThrowsAsync<TimeoutException>(() => backend.SetAsync(Key, Record("y", InAnHour, 2), SetCondition.IfVersion(1), default).AsTask());
        Assert.That(timeout!.Message, Does.Contain(lockPath));

        await holder.SendLineAsync("release");
        Assert.That(await holder.WaitForExitAsync(), Is.Zero, holder.StandardError);
        Assert.That(await backend.SetAsync(Key, Record("y", InAnHour, 2), SetCondition.IfVersion(1), default), Is.True);
    }
}
