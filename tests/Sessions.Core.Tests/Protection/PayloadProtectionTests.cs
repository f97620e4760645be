using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.DataProtection;
using NUnit.Framework;
using Sessions.Core.Tests.Engine;
using Sessions.Engine;
using Sessions.Envelope;
using Sessions.Protection;

namespace Sessions.Core.Tests.Protection;

/// <summary>
/// <see cref="SessionOptions.ProtectPayloads"/> on the engine over the in-memory backend, with a real Data Protection key
/// ring in a temporary directory: round trip, no plaintext at rest, mixed stores, key rotation, and records that cannot
/// be unprotected taking the corrupt-record path.
/// </summary>
public sealed class PayloadProtectionTests : SessionStoreTestBase
{
    private const string Secret = "secret-value-4f9c1e";
    private const string User = "ada-lovelace-7d2b";
    private string _keyDirectory = null!;
    private ProtectedKeyRing _ring = null!;

    [SetUp]
    public void CreateKeyRing()
    {
        _keyDirectory = Path.Combine(Path.GetTempPath(), "sessions-dp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_keyDirectory);
        _ring = new ProtectedKeyRing(_keyDirectory);
    }

    [TearDown]
    public void DeleteKeyRing()
    {
        _ring.Dispose();
        Directory.Delete(_keyDirectory, recursive: true);
    }

    [TestCase(SessionFormat.Binary)]
    [TestCase(SessionFormat.Json)]
    public async Task Round_trip_reads_what_was_written_and_the_store_holds_no_plaintext(SessionFormat format)
    {
        var store = Protected(_ring.Provider, o => o.Format = format);
        var id = await CreateWithUserAsync(store);

        var stored = StoredPayload(store, id);
        var loaded = await LoadRequiredAsync(store, id);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(stored[0], Is.EqualTo(PayloadCodec.EnvelopeEncryptedFormatByte), "a protected record starts with its own format byte");
            Assert.That(Contains(stored, Bytes(Secret)), Is.False, "the value is not in the stored bytes");
            Assert.That(Contains(stored, Bytes(User)), Is.False, "the user ID is not in the stored bytes");
            Assert.That(Contains(stored, Bytes("name")), Is.False, "the entry's key is not in the stored bytes");
            Assert.That(Text(loaded, "name"), Is.EqualTo(Secret));
            Assert.That(loaded.UserId, Is.EqualTo(User));
        }
    }

    [Test]
    public async Task The_same_session_saved_twice_is_stored_as_different_bytes()
    {
        var store = Protected(_ring.Provider);
        var id = await CreateSessionAsync(store, ("name", Bytes(Secret)));
        var first = StoredPayload(store, id);

        var session = await LoadRequiredAsync(store, id);
        session.Set("other", Bytes("x"));
        session.Remove("other");
        session.Set("name", Bytes(Secret));
        await store.CommitAsync(session, CancellationToken.None);

        Assert.That(StoredPayload(store, id), Is.Not.EqualTo(first), "each write draws a fresh random nonce");
    }

    [Test]
    public async Task Toggling_the_option_between_requests_logs_nobody_out()
    {
        var plain = CreateStore();
        var id = await CreateSessionAsync(plain, ("n", [1]));
        Assert.That(StoredPayload(plain, id)[0], Is.EqualTo((byte)0x01), "written plain (binary envelope)");

        // Turned on: the plain record still loads, and the next save protects it.
        var on = Protected(_ring.Provider);
        await IncrementAsync(on, id, expected: 2);
        Assert.That(StoredPayload(on, id)[0], Is.EqualTo(PayloadCodec.EnvelopeEncryptedFormatByte));

        // Turned off again (Data Protection still registered): the protected record loads, the next save is plain.
        var off = new SessionStore(Backend, new SessionOptions(), "memory", null, Clock, Logger, _ring.Provider);
        await IncrementAsync(off, id, expected: 3);
        Assert.That(StoredPayload(off, id)[0], Is.EqualTo((byte)0x01));

        Assert.That(Logger.Entries.Where(e => e.EventId.Id is 1001 or 1060), Is.Empty, "no record was treated as corrupt");
    }

    [Test]
    public async Task A_record_under_a_rotated_key_still_reads_and_the_next_save_uses_the_current_key()
    {
        var oldKey = _ring.CreateKey();
        var store = Protected(_ring.Provider);
        var id = await CreateSessionAsync(store, ("n", [1]));
        Assert.That(ProtectedKeyRing.KeyIdOf(StoredPayload(store, id)), Is.EqualTo(oldKey.KeyId));

        // Rotation: a new key becomes the default for writes; the old one stays in the ring. Another instance (or this one
        // after its key ring refresh) opens the ring from the shared directory.
        var newKey = _ring.CreateKey();
        using var refreshed = new ProtectedKeyRing(_keyDirectory);
        store = Protected(refreshed.Provider);
        await IncrementAsync(store, id, expected: 2);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ProtectedKeyRing.KeyIdOf(StoredPayload(store, id)), Is.EqualTo(newKey.KeyId), "rewritten with the current key");
            Assert.That(Logger.Entries.Where(e => e.EventId.Id is 1001 or 1060), Is.Empty);
        }
    }

    [Test]
    public async Task A_record_under_a_revoked_then_rotated_key_still_reads_and_the_next_save_rewrites_it_under_the_new_key()
    {
        var oldKey = _ring.CreateKey();
        var id = await CreateSessionAsync(Protected(_ring.Provider), ("n", [1]));
        Assert.That(ProtectedKeyRing.KeyIdOf(StoredPayload(Protected(_ring.Provider), id)), Is.EqualTo(oldKey.KeyId));

        // Revoked, then rotated: a new default key; every instance sees both once its key ring refreshes.
        _ring.Keys.RevokeKey(oldKey.KeyId, "test: key retired");
        var newKey = _ring.CreateKey();
        using var refreshed = new ProtectedKeyRing(_keyDirectory);
        var store = Protected(refreshed.Provider); // ProtectionIgnoreRevocationErrors: the default, on
        using var corrupt = new CorruptCounter();

        await IncrementAsync(store, id, expected: 2);

        var rewritten = ProtectedKeyRing.KeyIdOf(StoredPayload(store, id));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rewritten, Is.EqualTo(newKey.KeyId), "the save wrote it under the current key");
            Assert.That(refreshed.Keys.GetAllKeys().Single(k => k.KeyId == rewritten).IsRevoked, Is.False);
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1061), Is.EqualTo(1), "read under a revoked key: warned");
            Assert.That(Logger.Entries.Single(e => e.EventId.Id == 1061).Message, Does.Contain(oldKey.KeyId.ToString()));
            Assert.That(Logger.Entries.Where(e => e.EventId.Id is 1001 or 1060), Is.Empty, "not a corrupt record");
            Assert.That(corrupt.Count, Is.Zero);
        }

        // Rewritten under a key that is not revoked, it now reads even where revoked keys are refused.
        var strict = Protected(refreshed.Provider, o => o.ProtectionIgnoreRevocationErrors = false);
        Assert.That(Text(await LoadRequiredAsync(strict, id), "n"), Is.EqualTo("\u0002"));
    }

    [Test]
    public async Task With_revocation_errors_not_ignored_a_record_under_a_revoked_key_reads_as_corrupt()
    {
        var oldKey = _ring.CreateKey();
        var store = Protected(_ring.Provider);
        var id = await CreateSessionAsync(store, ("n", [1]));

        _ring.Keys.RevokeKey(oldKey.KeyId, "test: key compromised");
        using var refreshed = new ProtectedKeyRing(_keyDirectory); // as any instance sees the ring after its refresh
        store = Protected(refreshed.Provider, o => o.ProtectionIgnoreRevocationErrors = false);
        using var corrupt = new CorruptCounter();

        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null, "revoked keys are not trusted: a new session is issued");
        AssertReportedCorrupt(corrupt);
        Assert.That(Logger.Entries.Where(e => e.EventId.Id == 1061), Is.Empty);
    }

    [Test]
    public async Task Reading_under_a_revoked_key_is_warned_once_per_key_however_many_records_and_data_keys()
    {
        // Two instances, so two data keys (two wrapped keys) under the same Data Protection key, three records.
        var oldKey = _ring.CreateKey();
        var writerA = Protected(_ring.Provider);
        var writerB = Protected(_ring.Provider);
        string[] ids = [await CreateSessionAsync(writerA, ("n", [1])), await CreateSessionAsync(writerA, ("n", [2])), await CreateSessionAsync(writerB, ("n", [3]))];
        Assert.That(StoredPayload(writerA, ids[0]).AsSpan(0, 60).SequenceEqual(StoredPayload(writerB, ids[2]).AsSpan(0, 60)), Is.False, "two data keys");

        _ring.Keys.RevokeKey(oldKey.KeyId, "test: key retired");
        _ring.CreateKey();
        using var refreshed = new ProtectedKeyRing(_keyDirectory);
        var reader = Protected(refreshed.Provider);
        foreach (var id in ids.Concat(ids))
        {
            await LoadRequiredAsync(reader, id);
        }

        // Past the cache lifetime the data keys are unwrapped again: still no second warning.
        Clock.Advance(DataKeyRing.DataKeyLifetime + TimeSpan.FromSeconds(1));
        foreach (var id in ids)
        {
            await LoadRequiredAsync(reader, id);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1061), Is.EqualTo(1));
            Assert.That(Logger.Entries.Single(e => e.EventId.Id == 1061).Level, Is.EqualTo(Microsoft.Extensions.Logging.LogLevel.Warning));
            Assert.That(Logger.Entries.Where(e => e.EventId.Id is 1001 or 1060), Is.Empty);
        }
    }

    [Test]
    public async Task A_record_under_a_destroyed_key_reads_as_corrupt_and_a_new_session_can_be_saved()
    {
        var oldKey = _ring.CreateKey();
        var id = await CreateSessionAsync(Protected(_ring.Provider), ("n", [1]));

        // The key's file is deleted; the app restarts and opens the ring from the directory (and creates a new key).
        _ring.DestroyKey(oldKey.KeyId);
        using var reopened = new ProtectedKeyRing(_keyDirectory);
        var store = Protected(reopened.Provider);
        using var corrupt = new CorruptCounter();

        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null, "ignoring revocation (the default) does not bring back a destroyed key");
        AssertReportedCorrupt(corrupt);
        Assert.That(Logger.Entries.Where(e => e.EventId.Id == 1061), Is.Empty);
        var fresh = await CreateSessionAsync(store, ("n", [1]));
        Assert.That(Text(await LoadRequiredAsync(store, fresh), "n"), Is.EqualTo("\u0001"));
    }

    [Test]
    public async Task A_tampered_record_reads_as_corrupt()
    {
        var store = Protected(_ring.Provider);
        var id = await CreateSessionAsync(store, ("n", [1]));
        var key = store.Keys.ForSession(id)!;
        var record = (await Memory.GetAsync(key, CancellationToken.None))!;
        var bytes = record.Payload.ToArray();
        bytes[^40] ^= 0x01; // a ciphertext byte: the MAC no longer matches
        await Memory.SetAsync(key, new Sessions.Backends.SessionRecord(bytes, record.ExpiresAt, record.Version + 1), Sessions.Backends.SetCondition.Always, CancellationToken.None);
        using var corrupt = new CorruptCounter();

        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null);
        AssertReportedCorrupt(corrupt);
    }

    [Test]
    public async Task Another_purpose_cannot_read_the_record()
    {
        var id = await CreateSessionAsync(Protected(_ring.Provider), ("n", [1]));
        var other = Protected(_ring.Provider, o => o.ProtectionPurpose = "another-app-purpose");
        using var corrupt = new CorruptCounter();

        Assert.That(await other.LoadAsync(id, CancellationToken.None), Is.Null);
        AssertReportedCorrupt(corrupt);
    }

    [Test]
    public async Task Without_Data_Protection_a_protected_record_reads_as_corrupt()
    {
        var id = await CreateSessionAsync(Protected(_ring.Provider), ("n", [1]));
        var bare = CreateStore();
        using var corrupt = new CorruptCounter();

        Assert.That(await bare.LoadAsync(id, CancellationToken.None), Is.Null);
        AssertReportedCorrupt(corrupt);
        Assert.That(Logger.Entries.Single(e => e.EventId.Id == 1060).Message, Does.Contain("AddDataProtection"));
    }

    [Test]
    public void The_option_on_without_a_provider_is_refused_by_the_constructor()
    {
        var ex = Assert.Throws<ArgumentException>(() => CreateStore(o => o.ProtectPayloads = true));
        Assert.That(ex!.Message, Does.Contain("AddDataProtection"));
    }

    [Test]
    public async Task The_payload_limit_counts_the_protected_size()
    {
        // 300 bytes of value fit in 400 bytes plain, but not once protected (about 100 bytes of overhead plus padding).
        var plainStore = CreateStore(o => o.MaxPayloadBytes = 400);
        await CreateSessionAsync(plainStore, ("v", new byte[300]));
        var store = Protected(_ring.Provider, o => o.MaxPayloadBytes = 400);
        var session = store.CreateNew();
        session.Set("v", new byte[300]);

        var ex = Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await store.CommitAsync(session, CancellationToken.None));
        Assert.That(ex!.PayloadBytes, Is.GreaterThan(400));
        Assert.That(ex.MaxPayloadBytes, Is.EqualTo(400));
    }

    [Test]
    public void Blank_or_overlong_purpose_fails_validation()
    {
        var validator = new SessionOptionsValidator();

        Assert.That(validator.Validate(null, new SessionOptions { ProtectionPurpose = " " }).FailureMessage, Does.Contain("Sessions:ProtectionPurpose"));
        Assert.That(validator.Validate(null, new SessionOptions { ProtectionPurpose = new string('p', 201) }).Failed, Is.True);
        Assert.That(validator.Validate(null, new SessionOptions { ProtectPayloads = true }).Succeeded, Is.True);
    }

    private SessionStore Protected(IDataProtectionProvider provider, Action<SessionOptions>? configure = null)
    {
        var options = new SessionOptions { ProtectPayloads = true };
        configure?.Invoke(options);
        return new SessionStore(Backend, options, "memory", null, Clock, Logger, provider);
    }

    private static async Task<string> CreateWithUserAsync(SessionStore store)
    {
        var session = store.CreateNew();
        session.Set("name", Bytes(Secret));
        session.UserId = User;
        await store.CommitAsync(session, CancellationToken.None);
        return session.Id;
    }

    private static async Task IncrementAsync(SessionStore store, string id, byte expected)
    {
        var session = await LoadRequiredAsync(store, id);
        session.TryGetValue("n", out var n);
        session.Set("n", [(byte)(n![0] + 1)]);
        var result = await store.CommitAsync(session, CancellationToken.None);
        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Saved));
        session = await LoadRequiredAsync(store, id);
        Assert.That(session.TryGetValue("n", out n) ? n[0] : 0, Is.EqualTo(expected));
    }

    private byte[] StoredPayload(SessionStore store, string id) =>
        Memory.GetAsync(store.Keys.ForSession(id)!, CancellationToken.None).AsTask().GetAwaiter().GetResult()!.Payload.ToArray();

    private void AssertReportedCorrupt(CorruptCounter corrupt)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1060), Is.EqualTo(1), "why it could not be unprotected, logged once");
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1001), Is.EqualTo(1), "the corrupt-record warning, logged once");
            Assert.That(corrupt.Count, Is.EqualTo(1), "counted in sessions.corrupt_records");
        }
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>Counts sessions.corrupt_records measurements tagged with the backend name "memory" on this test's thread's async flow.</summary>
    internal sealed class CorruptCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly AsyncLocal<bool> _mine = new() { Value = true };
        private long _count;

        public CorruptCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Sessions" && instrument.Name == "sessions.corrupt_records")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
            {
                if (_mine.Value)
                {
                    Interlocked.Add(ref _count, value);
                }
            });
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
