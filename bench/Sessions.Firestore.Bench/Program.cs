// Load-and-save against Google's Cloud Firestore emulator: each backend operation is what a request that changes its
// session costs the backend, GetAsync then SetAsync(IfVersion(read version, read token)). The baseline does the same
// work with plain calls on the backend's own gRPC channel: GetDocument, then a Commit of the same fields under the
// read update_time (the least any client needs for a safe conditional write), with the same call headers. A third run
// passes no token, as a caller without the SPI's concurrency token must (a read before the conditional write: three round
// trips instead of two).
// 32 callers (by default), each on keys of its own; runs alternate (--rounds each, the order rotating every round) after
// a warm-up, so drift on a shared machine and the emulator's own warming hit all. Prints operations per second,
// allocated bytes per operation (whole process, client side) and the ratio backend / baseline (goal: at least 0.9).
//
//   dotnet run -c Release --project bench/Sessions.Firestore.Bench -- [--seconds 5] [--rounds 3] [--callers 32] [--payload 1024]
//
// Without SESSIONS_TEST_FIRESTORE (host:port of a running emulator) it starts the emulator itself (gcloud; see
// tools/setup.d/firestore.sh) on a free loopback port and stops it, by PID, at the end.
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Sessions.Backends;
using Sessions.Firestore;
using Sessions.Firestore.Protocol;
using Sessions.Firestore.Tests.Support;

var seconds = IntArg("--seconds", 5);
var rounds = IntArg("--rounds", 3);
var callers = IntArg("--callers", 32);
var payloadBytes = IntArg("--payload", 1024);
const int KeysPerCaller = 50;

try
{
    var options = await FirestoreEmulator.OptionsAsync(FirestoreEmulator.NewProjectId("bench"));
    await using var backend = new FirestoreSessionBackend(options);
    var client = backend.Client;
    var payload = new byte[payloadBytes];
    new Random(1).NextBytes(payload);

    for (var c = 0; c < callers; c++)
    {
        for (var k = 0; k < KeysPerCaller; k++)
        {
            await backend.SetAsync(Key("s", c, k), new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(30), 1), SetCondition.Always, CancellationToken.None);
            await backend.SetAsync(Key("n", c, k), new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(30), 1), SetCondition.Always, CancellationToken.None);
            await backend.SetAsync(Key("p", c, k), new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(30), 1), SetCondition.Always, CancellationToken.None);
        }
    }

    // Warm-up: JIT, tiering, HTTP/2 connections, the emulator's own JIT.
    var warmUp = TimeSpan.FromSeconds(Math.Min(3, seconds));
    await RunAsync(BaselineOperationAsync, warmUp);
    await RunAsync(BackendOperationAsync, warmUp);
    await RunAsync(BackendWithoutTokenOperationAsync, warmUp);

    var results = new Dictionary<string, List<(double Rate, double BytesPerOp, long Refused)>> { ["baseline"] = [], ["backend"] = [], ["no token"] = [] };
    for (var r = 0; r < rounds; r++)
    {
        // The emulator speeds up as it warms, so the order rotates each round: no variant always runs first.
        var measured = new Dictionary<string, (double Rate, double BytesPerOp, long Refused)>();
        foreach (var name in Rotate(["baseline", "backend", "no token"], r))
        {
            measured[name] = await RunAsync(
                name switch { "baseline" => BaselineOperationAsync, "backend" => BackendOperationAsync, _ => BackendWithoutTokenOperationAsync },
                TimeSpan.FromSeconds(seconds));
            results[name].Add(measured[name]);
        }

        var (b, s, n) = (measured["baseline"], measured["backend"], measured["no token"]);
        Console.WriteLine(Invariant(
            $"  round {r + 1}: baseline {b.Rate:N0} ops/s, backend {s.Rate:N0} ops/s (ratio {s.Rate / b.Rate:F2}), backend without token {n.Rate:N0} ops/s (ratio {n.Rate / b.Rate:F2})"));
    }

    double Rate(string name) => results[name].Average(x => x.Rate);
    double Bytes(string name) => results[name].Average(x => x.BytesPerOp);
    Console.WriteLine(Invariant($"Firestore load-and-save on the emulator at {options.EmulatorHost}, {callers} callers, {payloadBytes}-byte payload, {rounds} x {seconds} s each:"));
    Console.WriteLine(Invariant($"  baseline (GetDocument + Commit with update_time, same channel): {Rate("baseline"):N0} ops/s, {Bytes("baseline"):N0} B/op"));
    Console.WriteLine(Invariant($"  backend (GetAsync + SetAsync IfVersion with token):            {Rate("backend"):N0} ops/s, {Bytes("backend"):N0} B/op ({results["backend"].Sum(x => x.Refused)} refused)"));
    Console.WriteLine(Invariant($"  backend, no token (GetAsync + read + conditional commit):       {Rate("no token"):N0} ops/s, {Bytes("no token"):N0} B/op ({results["no token"].Sum(x => x.Refused)} refused)"));
    Console.WriteLine(Invariant($"  ratio backend / baseline: {Rate("backend") / Rate("baseline"):F2} (goal >= 0.90); without the token: {Rate("no token") / Rate("baseline"):F2}"));

    async ValueTask<bool> BackendOperationAsync(int caller, int k)
    {
        var key = Key("s", caller, k);
        var current = await backend.GetAsync(key, CancellationToken.None);
        var next = new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(30), (current?.Version ?? 0) + 1);
        return await backend.SetAsync(key, next, current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(current.Version, current.ConcurrencyToken), CancellationToken.None);
    }

    async ValueTask<bool> BackendWithoutTokenOperationAsync(int caller, int k)
    {
        var key = Key("n", caller, k);
        var current = await backend.GetAsync(key, CancellationToken.None);
        var next = new SessionRecord(payload, DateTimeOffset.UtcNow.AddMinutes(30), (current?.Version ?? 0) + 1);
        return await backend.SetAsync(key, next, current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(current.Version), CancellationToken.None);
    }

    async ValueTask<bool> BaselineOperationAsync(int caller, int k)
    {
        var name = backend.DocumentName(Key("p", caller, k));
        var current = await client.GetDocumentAsync(new GetDocumentRequest { Name = name }, backend.CallHeaders, deadline: DateTime.UtcNow + options.CallTimeout);
        var version = current.Fields.TryGetValue("version", out var v) ? v.IntegerValue : 0;
        var document = new Document { Name = name };
        document.Fields.Add("payload", new Value { BytesValue = UnsafeByteOperations.UnsafeWrap(payload) });
        document.Fields.Add("version", new Value { IntegerValue = version + 1 });
        document.Fields.Add("expiresAt", new Value { TimestampValue = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(30)) });
        var write = new Write { Update = document, CurrentDocument = new Precondition { UpdateTime = current.UpdateTime } };
        await client.CommitAsync(new CommitRequest { Database = backend.Database, Writes = { write } }, backend.CallHeaders, deadline: DateTime.UtcNow + options.CallTimeout);
        return true;
    }

    async Task<(double Rate, double BytesPerOp, long Refused)> RunAsync(Func<int, int, ValueTask<bool>> operation, TimeSpan duration)
    {
        long total = 0;
        long refused = 0;
        using var stop = new CancellationTokenSource(duration);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
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
        var elapsed = watch.Elapsed;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        return (total / elapsed.TotalSeconds, total == 0 ? 0 : (double)allocated / total, refused);
    }
}
finally
{
    FirestoreEmulator.Stop();
}

static IEnumerable<string> Rotate(string[] names, int by) => names.Skip(by % names.Length).Concat(names.Take(by % names.Length));

static string Key(string kind, int caller, int k) => $"bench:{kind}:{caller}:{k}";

static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

int IntArg(string name, int fallback) =>
    StringArg(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

string? StringArg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
