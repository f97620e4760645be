// The Redis backend's load-and-save against redis-benchmark on the same server (issue 4, "Done when"; issue 11: the
// backend on StackExchange.Redis, one multiplexer it opens from the configuration string).
//
// 1. Starts redis-server on a free loopback port (--save '' --appendonly no), unless --server host:port is given.
// 2. Runs `redis-benchmark -p P -t get,set -c 64 -n 200000 -q` and parses the GET and SET requests per second.
// 3. Runs the backend's load-and-save, what a request that changes its session costs: GetAsync, then
//    SetAsync(IfVersion(read version)), i.e. two round trips (GET, EVALSHA), with a ~300-byte payload, 64 callers,
//    a 3 s warm-up, then 10 s measured.
// 4. Prints backend round trips/s, redis-benchmark's mean(GET, SET) req/s, their ratio (goal >= 0.7), backend ops/s and
//    bytes allocated per op (GC.GetTotalAllocatedBytes(true) delta / ops).
//
//   dotnet run -c Release --project bench/Sessions.Redis.Bench -- [--seconds 10] [--warmup 3] [--callers 64] [--payload 300] [--requests 200000] [--server host:port]
//
// With --bdn, runs the BenchmarkDotNet benchmarks instead (LoadAndSaveBenchmarks: exact bytes per load-and-save, one caller):
//   dotnet run -c Release --project bench/Sessions.Redis.Bench -- --bdn --filter '*LoadAndSave*'
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Benchmarks.Shared;
using Sessions.Redis;

if (args.Contains("--bdn"))
{
    BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Sessions.Redis.Bench.LoadAndSaveBenchmarks).Assembly).Run([.. args.Where(a => a != "--bdn")]);
    return;
}

var seconds = IntArg("--seconds", 10);
var warmup = IntArg("--warmup", 3);
var callers = IntArg("--callers", 64);
var payloadBytes = IntArg("--payload", 300);
var requests = IntArg("--requests", 200_000);
var external = StringArg("--server");
using var allocations = args.Contains("--alloc-profile") ? new AllocationSampler() : null; // which types the measured run allocates (sampled)
const int KeysPerCaller = 100;

ServerProcess? server = null;
string host = "127.0.0.1";
int port;
if (external is null)
{
    port = ServerProcess.FreeLoopbackPort();
    var redisPort = port;
    server = await ServerProcess.StartAsync(
        $"redis-server on 127.0.0.1:{port}",
        ServerProcess.FindOnPath("redis-server", "install it with tools/setup.sh"),
        ["--port", ServerProcess.Arg(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
        ct => ServerProcess.AcceptsTcpAsync(redisPort, ct));
}
else
{
    var colon = external.LastIndexOf(':');
    host = external[..colon];
    port = int.Parse(external[(colon + 1)..], CultureInfo.InvariantCulture);
}

try
{
    var (get, set) = await RunRedisBenchmarkAsync();
    var reference = (get + set) / 2;

    await using var backend = new RedisSessionBackend(new RedisSessionBackendOptions { Configuration = $"{host}:{port}" });
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

    await RunAsync(TimeSpan.FromSeconds(warmup)); // JIT, tiering, connection, script cache
    allocations?.Start();
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    var gen0Before = GC.CollectionCount(0);
    var watch = Stopwatch.StartNew();
    var (ops, conflicts) = await RunAsync(TimeSpan.FromSeconds(seconds));
    watch.Stop();
    var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

    var opsPerSecond = ops / watch.Elapsed.TotalSeconds;
    var roundTrips = 2 * opsPerSecond;
    Console.WriteLine(Invariant($"redis-benchmark -t get,set -c 64 -n {requests}: GET {get:F0} req/s, SET {set:F0} req/s, mean {reference:F0} req/s"));
    Console.WriteLine(Invariant($"backend load-and-save (GetAsync + SetAsync IfVersion), {callers} callers, {payloadBytes}-byte payload, {watch.Elapsed.TotalSeconds:F1} s after {warmup} s warm-up:"));
    Console.WriteLine(Invariant($"  {ops:N0} ops, {opsPerSecond:F0} ops/s, {roundTrips:F0} round trips/s, {conflicts} conflicts, {GC.CollectionCount(0) - gen0Before} gen0 GCs"));
    Console.WriteLine(Invariant($"  ratio round trips/s / redis-benchmark mean: {roundTrips / reference:F2} (goal >= 0.7)"));
    Console.WriteLine(Invariant($"  allocated: {allocated / (double)Math.Max(1, ops):F0} bytes/op"));
    allocations?.Print(ops);
    Console.WriteLine(Invariant($"RESULT ratio={roundTrips / reference:F3} roundtrips={roundTrips:F0} ops={opsPerSecond:F0} reference={reference:F0} get={get:F0} set={set:F0} bytesPerOp={allocated / (double)Math.Max(1, ops):F0}"));

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

async Task<(double Get, double Set)> RunRedisBenchmarkAsync()
{
    var info = new ProcessStartInfo("redis-benchmark")
    {
        UseShellExecute = false,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    };
    foreach (var a in new[] { "-h", host, "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "get,set", "-c", "64", "-n", requests.ToString(CultureInfo.InvariantCulture), "-q" })
    {
        info.ArgumentList.Add(a);
    }

    using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-benchmark");
    var stderr = process.StandardError.ReadToEndAsync();
    var output = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();

    // -q prints progress lines ending in \r, then "SET: 123456.79 requests per second, p50=0.2 msec".
    double? Rate(string command) => Regex.Match(output, $@"(?:^|[\r\n]){command}: ([0-9.]+) requests per second") is { Success: true } m
        ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
        : null;

    return Rate("GET") is { } get && Rate("SET") is { } set
        ? (get, set)
        : throw new InvalidOperationException($"could not parse redis-benchmark's output (exit code {process.ExitCode}): {output} {await stderr}");
}

static string Key(int caller, int k) => $"session:bench-{caller}-{k}";

static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

int IntArg(string name, int fallback) => StringArg(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

string? StringArg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

/// <summary>Samples allocations by type through the runtime's AllocationTick events (one per ~100 KB allocated).</summary>
internal sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _bytes = new();
    private volatile bool _started;

    public void Start() => _started = true;

    public void Print(long ops)
    {
        _started = false;
        foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(15))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    ~{bytes / (double)ops,6:F0} B/op  {type}"));
        }
    }

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1); // GC
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (_started && e.EventName == "GCAllocationTick_V4" && e.Payload is { } payload)
        {
            var type = (string?)payload[e.PayloadNames!.IndexOf("TypeName")] ?? "?";
            var amount = Convert.ToInt64(payload[e.PayloadNames!.IndexOf("AllocationAmount64")], CultureInfo.InvariantCulture);
            _bytes.AddOrUpdate(type, amount, (_, total) => total + amount);
        }
    }
}
