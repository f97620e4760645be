// Load-and-save against dynalite: each backend operation is what a request that changes its session costs the backend,
// GetAsync then SetAsync(IfVersion(read version)). The baseline does the same work with plain SDK calls on the same
// client: GetItem (strongly consistent) then an unconditional PutItem of the same attributes. 32 callers (by default),
// each on keys of its own; backend and baseline runs alternate (--rounds each) after a warm-up, so drift on a shared
// machine hits both. Prints operations per second for each and the ratio backend / baseline (goal: at least 0.9).
//
//   dotnet run -c Release --project bench/Sessions.DynamoDb.Bench -- [--seconds 5] [--rounds 3] [--callers 32] [--payload 1024] [--endpoint http://127.0.0.1:8000]
//
// Without --endpoint (or SESSIONS_BENCH_DYNAMODB) it starts dynalite itself (tools/dynalite; run tools/setup.sh first)
// on a free loopback port and stops it, by PID, at the end.
using System.Diagnostics;
using System.Globalization;
using Amazon.DynamoDBv2.Model;
using Sessions.Backends;
using Sessions.DynamoDb;
using Sessions.DynamoDb.Tests.Support;

var seconds = IntArg("--seconds", 5);
var rounds = IntArg("--rounds", 3);
var callers = IntArg("--callers", 32);
var payloadBytes = IntArg("--payload", 1024);
var endpoint = StringArg("--endpoint") ?? Environment.GetEnvironmentVariable("SESSIONS_BENCH_DYNAMODB");
const int KeysPerCaller = 50;

DynaliteProcess? server = null;
if (endpoint is null)
{
    server = await DynaliteProcess.StartAsync();
    endpoint = server.ServiceUrl;
}

try
{
    using var client = DynaliteProcess.Client(endpoint, maxRetries: 3);
    var table = $"bench-{Guid.NewGuid():N}";
    await using var backend = new DynamoDbSessionBackend(client, new DynamoDbSessionBackendOptions { Table = table, CreateTable = true });
    await backend.EnsureTableAsync(CancellationToken.None);
    var payload = new byte[payloadBytes];
    new Random(1).NextBytes(payload);

    for (var c = 0; c < callers; c++)
    {
        for (var k = 0; k < KeysPerCaller; k++)
        {
            await backend.SetAsync(Key("s", c, k), new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(30), 1), SetCondition.Always, CancellationToken.None);
            await client.PutItemAsync(new PutItemRequest { TableName = table, Item = PlainItem(Key("p", c, k), payload, 1) });
        }
    }

    // Warm-up: JIT, tiering, connections, dynalite's own JIT.
    await RunAsync(BackendOperationAsync, TimeSpan.FromSeconds(Math.Min(2, seconds)));
    await RunAsync(BaselineOperationAsync, TimeSpan.FromSeconds(Math.Min(2, seconds)));

    var backendRates = new List<double>();
    var baselineRates = new List<double>();
    long conflicts = 0;
    for (var r = 0; r < rounds; r++)
    {
        var b = await RunAsync(BaselineOperationAsync, TimeSpan.FromSeconds(seconds));
        baselineRates.Add(b.Rate);
        var s = await RunAsync(BackendOperationAsync, TimeSpan.FromSeconds(seconds));
        backendRates.Add(s.Rate);
        conflicts += s.Refused;
        Console.WriteLine(Invariant($"  round {r + 1}: baseline {b.Rate:N0} ops/s, backend {s.Rate:N0} ops/s"));
    }

    var backendRate = backendRates.Average();
    var baselineRate = baselineRates.Average();
    Console.WriteLine(Invariant(
        $"DynamoDB load-and-save on {(server is null ? endpoint : "dynalite " + endpoint)}, {callers} callers, {payloadBytes}-byte payload, {rounds} x {seconds} s each:"));
    Console.WriteLine(Invariant($"  baseline (GetItem + PutItem through the SDK): {baselineRate:N0} ops/s"));
    Console.WriteLine(Invariant($"  backend (GetAsync + SetAsync IfVersion):       {backendRate:N0} ops/s ({conflicts} conflicts)"));
    Console.WriteLine(Invariant($"  ratio backend / baseline: {backendRate / baselineRate:F2} (goal >= 0.90)"));
    await client.DeleteTableAsync(table);

    async ValueTask<bool> BackendOperationAsync(int caller, int k)
    {
        var key = Key("s", caller, k);
        var current = await backend.GetAsync(key, CancellationToken.None);
        var version = current?.Version ?? 0;
        var next = new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(30), version + 1);
        return await backend.SetAsync(key, next, current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(version), CancellationToken.None);
    }

    async ValueTask<bool> BaselineOperationAsync(int caller, int k)
    {
        var key = Key("p", caller, k);
        var current = await client.GetItemAsync(new GetItemRequest
        {
            TableName = table,
            Key = new() { ["pk"] = new AttributeValue { S = key } },
            ConsistentRead = true,
        });
        var version = current.Item is { } item && item.TryGetValue("version", out var v) ? long.Parse(v.N, CultureInfo.InvariantCulture) : 0;
        await client.PutItemAsync(new PutItemRequest { TableName = table, Item = PlainItem(key, payload, version + 1) });
        return true;
    }

    async Task<(double Rate, long Refused)> RunAsync(Func<int, int, ValueTask<bool>> operation, TimeSpan duration)
    {
        long total = 0;
        long refused = 0;
        using var stop = new CancellationTokenSource(duration);
        var watch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            long done = 0;
            var k = 0;
            while (!stop.IsCancellationRequested)
            {
                if (!await operation(c, k++ % KeysPerCaller))
                {
                    Interlocked.Increment(ref refused);
                }

                done++;
            }

            Interlocked.Add(ref total, done);
        })).ToArray();
        await Task.WhenAll(workers);
        return (total / watch.Elapsed.TotalSeconds, refused);
    }
}
finally
{
    server?.Stop();
}

static Dictionary<string, AttributeValue> PlainItem(string key, byte[] payload, long version)
{
    var expires = DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeMilliseconds();
    return new()
    {
        ["pk"] = new AttributeValue { S = key },
        ["payload"] = new AttributeValue { B = new MemoryStream(payload, writable: false) },
        ["version"] = new AttributeValue { N = version.ToString(CultureInfo.InvariantCulture) },
        ["expires_ms"] = new AttributeValue { N = expires.ToString(CultureInfo.InvariantCulture) },
        ["ttl"] = new AttributeValue { N = ((expires / 1000) + 1).ToString(CultureInfo.InvariantCulture) },
    };
}

static string Key(string kind, int caller, int k) => $"bench:{kind}:{caller}:{k}";

static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

int IntArg(string name, int fallback) =>
    StringArg(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

string? StringArg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
