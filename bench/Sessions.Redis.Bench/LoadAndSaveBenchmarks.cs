using BenchmarkDotNet.Attributes;
using Sessions.Backends;
using Sessions.Conformance;
using StackExchange.Redis;

namespace Sessions.Redis.Bench;

/// <summary>
/// Allocated bytes per load-and-save, exactly, with BenchmarkDotNet's <see cref="MemoryDiagnoserAttribute"/>: one caller
/// (so no contention for pooled state machines), a ~300-byte payload, against a redis-server this class starts on a free
/// loopback port. Baseline: the same two round trips as bare StackExchange.Redis calls on the same multiplexer (<c>GET</c>,
/// then <c>SET</c> of a record of the same size), i.e. what the library itself allocates for a read and a write.
/// </summary>
/// <remarks>Run with <c>dotnet run -c Release --project bench/Sessions.Redis.Bench -- --bdn --filter '*LoadAndSave*'</c>.</remarks>
[MemoryDiagnoser]
public class LoadAndSaveBenchmarks
{
    private const string Key = "session:bdn-backend";
    private const string RawKey = "session:bdn-raw";
    private ServerProcess _server = null!;
    private ConnectionMultiplexer _multiplexer = null!;
    private IDatabase _database = null!;
    private RedisSessionBackend _backend = null!;
    private byte[] _payload = null!;
    private byte[] _raw = null!;

    [GlobalSetup]
    public void Setup()
    {
        var port = ServerProcess.FreeLoopbackPort();
        _server = ServerProcess.StartAsync(
            $"redis-server on 127.0.0.1:{port}",
            ServerProcess.FindOnPath("redis-server", "install it with tools/setup.sh"),
            ["--port", ServerProcess.Arg(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            ct => ServerProcess.AcceptsTcpAsync(port, ct)).GetAwaiter().GetResult();
        _multiplexer = ConnectionMultiplexer.Connect($"127.0.0.1:{port}");
        _database = _multiplexer.GetDatabase();
        _backend = new RedisSessionBackend(_multiplexer);
        _payload = new byte[300];
        new Random(1).NextBytes(_payload);
        _raw = new byte[SessionRecordHeader.Length + _payload.Length];
        _backend.SetAsync(Key, new SessionRecord(_payload, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _database.StringSet(RawKey, _raw);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _backend.Dispose();
        _multiplexer.Dispose();
        _server.Dispose(); // the process this class started, by its PID
    }

    /// <summary>Bare StackExchange.Redis: <c>GET</c>, then <c>SET</c> of a value as large as the record.</summary>
    [Benchmark(Baseline = true, Description = "StackExchange.Redis GET + SET")]
    public async Task<bool> Library()
    {
        var value = await _database.StringGetAsync(RawKey);
        return await _database.StringSetAsync(RawKey, _raw) && !value.IsNull;
    }

    /// <summary>The backend's load-and-save: <c>GetAsync</c>, then <c>SetAsync(IfVersion)</c> (<c>GET</c>, <c>EVALSHA</c>).</summary>
    [Benchmark(Description = "backend GetAsync + SetAsync(IfVersion)")]
    public async Task<bool> Backend()
    {
        var current = await _backend.GetAsync(Key, CancellationToken.None);
        var version = current!.Version;
        var next = new SessionRecord(_payload, DateTimeOffset.UtcNow.AddHours(1), version + 1);
        return await _backend.SetAsync(Key, next, SetCondition.IfVersion(version), CancellationToken.None);
    }
}
