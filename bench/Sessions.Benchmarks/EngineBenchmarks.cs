using BenchmarkDotNet.Attributes;
using Sessions.Engine;
using Sessions.Envelope;
using Sessions.Memory;

namespace Sessions.Benchmarks;

/// <summary>
/// The engine's load and save paths against the in-memory backend, and their parts: the envelope codecs, key hashing, and
/// the merge path taken when two requests change one session at once.
/// The session is a typical small one: a user ID, a counter, a name and a 200-byte blob.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private SessionStore _store = null!;
    private string _id = null!;
    private SessionEnvelope _envelope = null!;
    private byte[] _binary = null!;
    private byte[] _json = null!;
    private SessionKeyBuilder _keys = null!;

    [GlobalSetup]
    public void Setup()
    {
        _store = new SessionStore(new MemorySessionBackend(), new SessionOptions(), "memory");
        var session = _store.CreateNew();
        session.UserId = "ada@example.com";
        session.Set("n", [0, 0, 0, 42]);
        session.Set("name", "Ada Lovelace"u8);
        session.Set("blob", new byte[200]);
        _store.CommitAsync(session, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _id = session.Id;
        _envelope = new SessionEnvelope(DateTimeOffset.UtcNow, null, "ada@example.com", false, new Dictionary<string, byte[]>
        {
            ["n"] = [0, 0, 0, 42],
            ["name"] = "Ada Lovelace"u8.ToArray(),
            ["blob"] = new byte[200],
        });
        _binary = BinaryEnvelopeFormat.Encode(_envelope);
        _json = JsonEnvelopeFormat.Encode(_envelope);
        _keys = new SessionKeyBuilder(SessionOptions.DefaultKeyPrefix, hashIdsAtRest: true);
    }

    [Benchmark(Description = "key: SHA-256 + base64url")]
    public string HashKey() => _keys.ForSession(_id)!;

    [Benchmark(Description = "binary: encode")]
    public byte[] EncodeBinary() => BinaryEnvelopeFormat.Encode(_envelope);

    [Benchmark(Description = "binary: decode")]
    public bool DecodeBinary() => BinaryEnvelopeFormat.TryDecode(_binary, out _);

    [Benchmark(Description = "json: encode")]
    public byte[] EncodeJson() => JsonEnvelopeFormat.Encode(_envelope);

    [Benchmark(Description = "json: decode")]
    public bool DecodeJson() => JsonEnvelopeFormat.TryDecode(_json, out _);

    [Benchmark(Description = "store: load")]
    public async Task<SessionData?> Load() => await _store.LoadAsync(_id, CancellationToken.None);

    [Benchmark(Description = "store: concurrent change merged (2 loads, 2 saves, 1 reload)")]
    public async Task<SessionCommitResult> MergeOnConflict()
    {
        // Two requests load the same version; the second save conflicts, reloads and re-applies its own key.
        var first = (await _store.LoadAsync(_id, CancellationToken.None))!;
        var second = (await _store.LoadAsync(_id, CancellationToken.None))!;
        first.Set("n", [0, 0, 0, 44]);
        second.Set("name", "Ada King"u8);
        await _store.CommitAsync(first, CancellationToken.None);
        return await _store.CommitAsync(second, CancellationToken.None);
    }

    [Benchmark(Description = "store: load + modify + save")]
    public async Task<SessionCommitResult> LoadModifySave()
    {
        var session = (await _store.LoadAsync(_id, CancellationToken.None))!;
        session.Set("n", [0, 0, 0, 43]);
        return await _store.CommitAsync(session, CancellationToken.None);
    }
}
