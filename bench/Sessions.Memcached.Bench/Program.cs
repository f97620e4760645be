// Load-and-save against one memcached: each operation is what a request that changes its session costs the backend,
// GetAsync then SetAsync(IfVersion(read version)). 64 callers (by default) run for a fixed time after a warm-up; the
// program prints operations per second and bytes allocated per operation (GC.GetTotalAllocatedBytes delta / operations).
//
//   dotnet run -c Release --project bench/Sessions.Memcached.Bench -- [--seconds 10] [--callers 64] [--payload 1024] [--servers host:port]
//
// Without --servers (or SESSIONS_BENCH_MEMCACHED) it starts memcached itself on a free loopback port and stops it at the end.
using System.Diagnostics;
using System.Globalization;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Memcached;
using Sessions.Benchmarks.Shared;

var seconds = IntArg("--seconds", 10);
var callers = IntArg("--callers", 64);
var payloadBytes = IntArg("--payload", 1024);
var servers = StringArg("--servers") ?? Environment.GetEnvironmentVariable("SESSIONS_BENCH_MEMCACHED");
const int KeysPerCaller = 100;

ServerProcess? server = null;
if (servers is null)
{
    var port = ServerProcess.FreeLoopbackPort();
    server = await ServerProcess.StartAsync(
        $"memcached on 127.0.0.1:{port}",
        ServerProcess.FindOnPath("memcached", "install it with tools/setup.sh"),
        ["-u", "root", "-l", "127.0.0.1", "-p", ServerProcess.Arg(port), "-U", "0", "-m", "256"],
        ct => ServerProcess.AcceptsTcpAsync(port, ct));
    servers = $"127.0.0.1:{port}";
}

try
{
    await using var backend = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = servers });
    var payload = new byte[payloadBytes];
    new Random(1).NextBytes(payload);

    // Each caller has its own keys, so conflicts measure nothing but the backend.
    for (var c = 0; c < callers; c++)
    {
        for (var k = 0; k < KeysPerCaller; k++)
        {
            await backend.SetAsync(Key(c, k), new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(30), 1), SetCondition.Always, CancellationToken.None);
        }
    }

    await RunAsync(TimeSpan.FromSeconds(Math.Min(3, seconds)));   // warm-up: JIT, tiering, connections
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    var gen0Before = GC.CollectionCount(0);
    var watch = Stopwatch.StartNew();
    var (ops, conflicts) = await RunAsync(TimeSpan.FromSeconds(seconds));
    watch.Stop();
    var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"memcached load-and-save (GetAsync + SetAsync IfVersion), 1 server {servers}, {callers} callers, {payloadBytes}-byte payload, {watch.Elapsed.TotalSeconds:F1} s:"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {ops:N0} ops, {ops / watch.Elapsed.TotalSeconds:N0} ops/s, {allocated / (double)Math.Max(1, ops):N0} bytes allocated/op, {conflicts} conflicts, {GC.CollectionCount(0) - gen0Before} gen0 GCs"));

    Task<(long Ops, long Conflicts)> RunAsync(TimeSpan duration) =>
        LoadAndSaveLoop.RunAsync(backend, callers, KeysPerCaller, Key, payload, duration);
}
finally
{
    if (server is not null)
    {
        await server.DisposeAsync(); // the process this program started, by its PID
    }
}

static string Key(int caller, int k) => $"session:bench-{caller}-{k}";

int IntArg(string name, int fallback) => StringArg(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

string? StringArg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
