// A separate OS process for Sessions.FileSystem.Tests' cross-process tests. Two modes:
//
//   increment <directory> <key> <count>
//     Prints "ready", waits for a line on stdin (so the test can start several workers at the same instant), then adds
//     <count> to the counter under <key> with IfAbsent / IfVersion writes, retrying on conflict. Prints
//     "done <conflicts> <started> <finished>" (times in UTC ticks) and exits 0.
//   hold <lock file>
//     Opens <lock file> with FileShare.None (an exclusive flock on Unix), prints "holding", and keeps it until a line
//     arrives on stdin.
//
// Any failure exits non-zero with the exception on stderr.
using System.Buffers.Binary;
using System.Globalization;
using Sessions.Backends;
using Sessions.FileSystem;

switch (args)
{
    case ["increment", var directory, var key, var countText]:
        await IncrementAsync(directory, key, int.Parse(countText, CultureInfo.InvariantCulture));
        return 0;
    case ["hold", var lockFile]:
        await HoldAsync(lockFile);
        return 0;
    default:
        await Console.Error.WriteLineAsync("usage: increment <directory> <key> <count> | hold <lock file>");
        return 2;
}

static async Task IncrementAsync(string directory, string key, int count)
{
    await using var backend = new FileSystemSessionBackend(new FileSystemSessionBackendOptions { Directory = directory });
    var expiresAt = DateTimeOffset.UtcNow.AddHours(1);
    Console.WriteLine("ready");
    _ = await Console.In.ReadLineAsync();

    var started = DateTime.UtcNow.Ticks;
    long conflicts = 0;
    for (var done = 0; done < count;)
    {
        var current = await backend.GetAsync(key, CancellationToken.None);
        var value = current is null ? 0 : BinaryPrimitives.ReadInt64LittleEndian(current.Payload.Span);
        var next = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(next, value + 1);
        await Task.Delay(1); // think time between read and write, as a request has: lets the other process interleave
        var condition = current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(current.Version);
        var record = new SessionRecord(next, expiresAt, (current?.Version ?? 0) + 1);
        if (await backend.SetAsync(key, record, condition, CancellationToken.None))
        {
            done++;
        }
        else
        {
            conflicts++;
        }
    }

    Console.WriteLine(FormattableString.Invariant($"done {conflicts} {started} {DateTime.UtcNow.Ticks}"));
}

static async Task HoldAsync(string lockFile)
{
    await using var held = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.Read, FileShare.None);
    Console.WriteLine("holding");
    _ = await Console.In.ReadLineAsync();
}
