using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Core.Tests.Engine;
using Sessions.Engine;
using Sessions.Envelope;
using Sessions.Protection;

namespace Sessions.Core.Tests.Protection;

/// <summary>
/// The 0xD3 record format of <see cref="SessionOptions.ProtectPayloads"/>: a data key wrapped once per lifetime by Data
/// Protection, AES-256-GCM per record with counter nonces, tampering caught by the tag, 0xD1 and 0xD2 records still read,
/// and the bounded key cache.
/// A real Data Protection key ring in a temporary directory; the provider is wrapped only to count its calls.
/// </summary>
public sealed class EnvelopeEncryptionTests : SessionStoreTestBase
{
    private string _keyDirectory = null!;
    private ProtectedKeyRing _ring = null!;
    private CountingProvider _counting = null!;

    [SetUp]
    public void CreateKeyRing()
    {
        _keyDirectory = Path.Combine(Path.GetTempPath(), "sessions-dek-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_keyDirectory);
        _ring = new ProtectedKeyRing(_keyDirectory);
        _counting = new CountingProvider(_ring.Provider);
    }

    [TearDown]
    public void DeleteKeyRing()
    {
        _ring.Dispose();
        Directory.Delete(_keyDirectory, recursive: true);
    }

    [Test]
    public async Task A_0xD3_record_has_the_documented_layout_and_round_trips()
    {
        var store = Protected(_counting);
        var id = await CreateSessionAsync(store, ("name", Bytes("value-0xd3")));
        var next = await CreateSessionAsync(store, ("name", Bytes("next")));
        var stored = StoredPayload(id);
        var wrappedLength = BinaryPrimitives.ReadUInt16BigEndian(stored.AsSpan(1, 2));
        var nonce = stored.AsSpan(3 + wrappedLength, 12);
        var nextNonce = StoredPayload(next).AsSpan(3 + wrappedLength, 12);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(stored[0], Is.EqualTo((byte)0xD3));
            Assert.That(nonce[..4].SequenceEqual(nextNonce[..4]), Is.True, "one fixed field per data key");
            Assert.That(BinaryPrimitives.ReadInt64BigEndian(nextNonce[4..]), Is.EqualTo(BinaryPrimitives.ReadInt64BigEndian(nonce[4..]) + 1), "then a count of the records under the key");
            Assert.That(wrappedLength, Is.InRange(50, 400), "Data Protection's payload for a 32-byte key");
            Assert.That(ProtectedKeyRing.KeyIdOf(stored), Is.EqualTo(_ring.Keys.GetAllKeys().Single().KeyId), "the wrapped key names its Data Protection key");
            Assert.That(stored.Length, Is.GreaterThan(3 + wrappedLength + 12 + 16), "nonce, tag, then ciphertext");
            Assert.That(Text(await LoadRequiredAsync(store, id), "name"), Is.EqualTo("value-0xd3"));
            Assert.That(Text(await LoadRequiredAsync(Protected(_ring.Provider), id), "name"), Is.EqualTo("value-0xd3"), "another instance unwraps the key");
        }
    }

    [TestCase("length")]
    [TestCase("wrapped")]
    [TestCase("nonce")]
    [TestCase("tag")]
    [TestCase("ciphertext")]
    [TestCase("truncated")]
    public async Task A_tampered_0xD3_record_reads_as_corrupt(string part)
    {
        var store = Protected(_ring.Provider);
        var id = await CreateSessionAsync(store, ("n", [1]));
        var bytes = StoredPayload(id);
        var wrappedLength = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(1, 2));
        var nonceAt = 3 + wrappedLength;
        switch (part)
        {
            case "length": bytes[2] ^= 0x01; break;
            case "wrapped": bytes[3 + (wrappedLength / 2)] ^= 0x01; break;
            case "nonce": bytes[nonceAt] ^= 0x01; break;
            case "tag": bytes[nonceAt + 12 + 15] ^= 0x80; break;
            case "ciphertext": bytes[^1] ^= 0x01; break;
            default: bytes = bytes[..(nonceAt + 20)]; break;
        }

        await PlantAsync(store, id, bytes);
        using var corrupt = new PayloadProtectionTests.CorruptCounter();

        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Null, "a new session is issued");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1060), Is.EqualTo(1), "why it could not be decrypted, logged once");
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1001), Is.EqualTo(1), "the corrupt-record warning, logged once");
            Assert.That(corrupt.Count, Is.EqualTo(1), "counted in sessions.corrupt_records");
        }
    }

    [Test]
    public async Task A_0xD2_record_still_loads_and_is_rewritten_as_0xD3()
    {
        // A record as the previous version wrote it: 0xD2, the wrapped data key, a random nonce, the tag, the ciphertext,
        // with the header (format byte, length, wrapped key) as associated data.
        var plainStore = CreateStore();
        var id = await CreateSessionAsync(plainStore, ("n", [5]));
        var plain = StoredPayload(id);
        var dataKey = RandomNumberGenerator.GetBytes(32);
        var wrapped = _ring.Provider.CreateProtector(new SessionOptions().ProtectionPurpose).Protect(dataKey);
        var record = new byte[3 + wrapped.Length + 12 + 16 + plain.Length];
        record[0] = 0xD2;
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(1, 2), (ushort)wrapped.Length);
        wrapped.CopyTo(record.AsSpan(3));
        var at = 3 + wrapped.Length;
        RandomNumberGenerator.Fill(record.AsSpan(at, 12));
        using (var gcm = new AesGcm(dataKey, 16))
        {
            gcm.Encrypt(record.AsSpan(at, 12), plain, record.AsSpan(at + 28), record.AsSpan(at + 12, 16), record.AsSpan(0, at));
        }

        await PlantAsync(plainStore, id, record);
        var store = Protected(_ring.Provider);
        var session = await LoadRequiredAsync(store, id);
        Assert.That(session.TryGetValue("n", out var n) ? n[0] : 0, Is.EqualTo(5), "the 0xD2 record reads");

        record[at + 12 + 15] ^= 0x01;
        await PlantAsync(plainStore, id, record);
        Assert.That(await Protected(_ring.Provider).LoadAsync(id, CancellationToken.None), Is.Null, "its tag is still checked");
        record[at + 12 + 15] ^= 0x01;
        await PlantAsync(plainStore, id, record);

        session = await LoadRequiredAsync(store, id);
        session.Set("n", [6]);
        await store.CommitAsync(session, CancellationToken.None);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(StoredPayload(id)[0], Is.EqualTo(PayloadCodec.EnvelopeEncryptedFormatByte), "rewritten in the current format");
            Assert.That((await LoadRequiredAsync(Protected(_ring.Provider), id)).TryGetValue("n", out n) ? n[0] : 0, Is.EqualTo(6));
        }
    }

    [Test]
    public async Task A_0xD1_record_still_loads_and_is_rewritten_as_0xD3()
    {
        // A record as the previous version wrote it: 0xD1 + IDataProtector.Protect(plain envelope), same purpose.
        var plainStore = CreateStore();
        var id = await CreateSessionAsync(plainStore, ("n", [7]));
        var plain = StoredPayload(id);
        var protector = _ring.Provider.CreateProtector(new SessionOptions().ProtectionPurpose);
        await PlantAsync(plainStore, id, [PayloadCodec.ProtectedFormatByte, .. protector.Protect(plain)]);

        var store = Protected(_ring.Provider);
        var session = await LoadRequiredAsync(store, id);
        Assert.That(session.TryGetValue("n", out var n) ? n[0] : 0, Is.EqualTo(7), "the 0xD1 record reads");
        session.Set("n", [8]);
        await store.CommitAsync(session, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(StoredPayload(id)[0], Is.EqualTo(PayloadCodec.EnvelopeEncryptedFormatByte), "rewritten in the current format");
            Assert.That((await LoadRequiredAsync(Protected(_ring.Provider), id)).TryGetValue("n", out n) ? n[0] : 0, Is.EqualTo(8));
            Assert.That(Logger.Entries.Where(e => e.EventId.Id is 1001 or 1060), Is.Empty);
        }
    }

    [Test]
    public async Task The_data_key_is_wrapped_once_per_lifetime_and_unwrapped_once_per_reader()
    {
        var writer = Protected(_counting);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await CreateSessionAsync(writer, ("n", [(byte)i])));
        }

        foreach (var id in ids)
        {
            await LoadRequiredAsync(writer, id);
        }

        Assert.That((_counting.Protects, _counting.Unprotects), Is.EqualTo((1, 0)), "one wrap for five writes; the writer reads its own records from its cache");

        var reader = Protected(_counting);
        foreach (var id in ids.Concat(ids))
        {
            await LoadRequiredAsync(reader, id);
        }

        Assert.That(_counting.Unprotects, Is.EqualTo(1), "another instance unwraps the shared data key once");

        Clock.Advance(DataKeyRing.WriteKeyLifetime - TimeSpan.FromSeconds(1));
        await CreateSessionAsync(writer, ("n", [9]));
        Assert.That(_counting.Protects, Is.EqualTo(1), "still within the write key's lifetime");

        Clock.Advance(TimeSpan.FromSeconds(2));
        var late = await CreateSessionAsync(writer, ("n", [9]));
        await LoadRequiredAsync(reader, ids[0]);
        await LoadRequiredAsync(reader, late);
        Assert.That((_counting.Protects, _counting.Unprotects), Is.EqualTo((2, 2)), "a new data key for writes after a minute, unwrapped once by the reader; the first is still cached");

        Clock.Advance(DataKeyRing.DataKeyLifetime);
        await LoadRequiredAsync(reader, ids[0]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_counting.Unprotects, Is.EqualTo(3), "the reader's cached key expired and is unwrapped again");
            Assert.That(BinaryPrimitives.ReadUInt16BigEndian(StoredPayload(late).AsSpan(1, 2)), Is.GreaterThan(0));
            Assert.That(StoredPayload(late).AsSpan(3, 20).SequenceEqual(StoredPayload(ids[1]).AsSpan(3, 20)), Is.True, "same Data Protection key");
            Assert.That(StoredPayload(late).AsSpan(3).SequenceEqual(StoredPayload(ids[1]).AsSpan(3)), Is.False);
        }
    }

    [Test]
    public void The_unwrapped_key_cache_is_bounded()
    {
        var options = new SessionOptions { ProtectPayloads = true };
        var envelope = new SessionEnvelope(Clock.GetUtcNow(), null, null, false, new Dictionary<string, byte[]> { ["n"] = [1] });
        var records = new List<byte[]>();
        for (var i = 0; i < DataKeyRing.MaxCachedDataKeys + 44; i++)
        {
            // Each codec draws its own data key, as each app instance (or lifetime) does.
            records.Add(new PayloadCodec(options, null, "memory", _ring.Provider, NullLogger.Instance, Clock).Encode(envelope));
        }

        var reader = new PayloadCodec(options, null, "memory", _counting, NullLogger.Instance, Clock);
        foreach (var record in records)
        {
            Clock.Advance(TimeSpan.FromSeconds(1)); // distinct expiry times, so "the oldest" is well defined
            Assert.That(reader.TryDecode(record, out var decoded) && decoded.Entries["n"][0] == 1, Is.True);
            Assert.That(reader.CachedDataKeyCount, Is.LessThanOrEqualTo(DataKeyRing.MaxCachedDataKeys));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reader.CachedDataKeyCount, Is.EqualTo(DataKeyRing.MaxCachedDataKeys));
            Assert.That(_counting.Unprotects, Is.EqualTo(records.Count));
            Assert.That(reader.TryDecode(records[^1], out _), Is.True);
            Assert.That(_counting.Unprotects, Is.EqualTo(records.Count), "the newest key is still cached");
            Assert.That(reader.TryDecode(records[0], out _), Is.True);
            Assert.That(_counting.Unprotects, Is.EqualTo(records.Count + 1), "the oldest key was evicted and is unwrapped again");
        }
    }

    [Test]
    public async Task A_0xD1_record_under_a_revoked_then_rotated_key_still_reads_and_is_rewritten_under_the_new_key()
    {
        var oldKey = _ring.CreateKey();
        var plainStore = CreateStore();
        var id = await CreateSessionAsync(plainStore, ("n", [7]));
        var protector = _ring.Provider.CreateProtector(new SessionOptions().ProtectionPurpose);
        await PlantAsync(plainStore, id, [PayloadCodec.ProtectedFormatByte, .. protector.Protect(StoredPayload(id))]);

        _ring.Keys.RevokeKey(oldKey.KeyId, "test: key retired");
        var newKey = _ring.CreateKey();
        using var refreshed = new ProtectedKeyRing(_keyDirectory);
        Assert.That(await Protected(refreshed.Provider, ignoreRevocation: false).LoadAsync(id, CancellationToken.None), Is.Null, "with the option off: corrupt");
        Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1060), Is.EqualTo(1));

        var store = Protected(refreshed.Provider);
        var session = await LoadRequiredAsync(store, id);
        Assert.That(session.TryGetValue("n", out var n) ? n[0] : 0, Is.EqualTo(7), "the 0xD1 record under the revoked key reads");
        session.Set("n", [8]);
        await store.CommitAsync(session, CancellationToken.None);

        var stored = StoredPayload(id);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(stored[0], Is.EqualTo(PayloadCodec.EnvelopeEncryptedFormatByte), "rewritten in the current format");
            Assert.That(ProtectedKeyRing.KeyIdOf(stored), Is.EqualTo(newKey.KeyId), "under the current, unrevoked key");
            Assert.That((await LoadRequiredAsync(Protected(refreshed.Provider, ignoreRevocation: false), id)).TryGetValue("n", out n) ? n[0] : 0, Is.EqualTo(8));
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1061), Is.EqualTo(1), "warned once");
            Assert.That(Logger.Entries.Count(e => e.EventId.Id is 1001 or 1060), Is.EqualTo(2), "only the strict reader's load was corrupt (1060 and 1001 once each)");
        }
    }

    [Test]
    public async Task A_record_under_a_revoked_key_reads_and_is_warned_once_even_after_its_cached_data_key_expires()
    {
        var key = _ring.CreateKey();
        var store = Protected(_ring.Provider);
        var id = await CreateSessionAsync(store, ("n", [1]));

        _ring.Keys.RevokeKey(key.KeyId, "test: key retired");
        _ring.CreateKey();
        using var refreshed = new ProtectedKeyRing(_keyDirectory);
        var reader = Protected(refreshed.Provider);
        Assert.That(await reader.LoadAsync(id, CancellationToken.None), Is.Not.Null);
        Clock.Advance(DataKeyRing.DataKeyLifetime + TimeSpan.FromSeconds(1));
        Assert.That(await reader.LoadAsync(id, CancellationToken.None), Is.Not.Null, "unwrapped again, ignoring the revocation again");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1061), Is.EqualTo(1));
            Assert.That(Logger.Entries.Where(e => e.EventId.Id is 1001 or 1060), Is.Empty);
        }
    }

    [Test]
    public async Task A_revoked_key_stops_decrypting_in_a_running_instance_once_its_cached_data_key_expires()
    {
        // With ProtectionIgnoreRevocationErrors off; with it on (the default) the record keeps reading (tests above).
        var key = _ring.CreateKey();
        var store = Protected(_counting, ignoreRevocation: false);
        var id = await CreateSessionAsync(store, ("n", [1]));
        var other = await CreateSessionAsync(store, ("n", [2]));

        _ring.Keys.RevokeKey(key.KeyId, "test: key compromised");
        using var refreshed = new ProtectedKeyRing(_keyDirectory);
        _counting.Inner = refreshed.Provider; // the running instance's key ring after Data Protection's refresh
        Assert.That(await store.LoadAsync(id, CancellationToken.None), Is.Not.Null, "within the data key's lifetime the cached key still decrypts (documented)");
        Assert.That(await Protected(refreshed.Provider, ignoreRevocation: false).LoadAsync(id, CancellationToken.None), Is.Null, "a new instance refuses the revoked key at once");

        Clock.Advance(DataKeyRing.DataKeyLifetime + TimeSpan.FromSeconds(1));
        Assert.That(await store.LoadAsync(other, CancellationToken.None), Is.Null, "after the lifetime the key is unwrapped again, and Data Protection refuses the revoked key");
        Assert.That(Logger.Entries.Count(e => e.EventId.Id == 1060), Is.EqualTo(2));
    }

    [Test]
    public async Task Within_a_minute_of_a_revocation_a_running_instance_writes_new_records_under_the_new_default_key()
    {
        var key = _ring.CreateKey();
        var store = Protected(_counting);
        var before = await CreateSessionAsync(store, ("n", [1]));
        Assert.That(ProtectedKeyRing.KeyIdOf(StoredPayload(before)), Is.EqualTo(key.KeyId));

        _ring.Keys.RevokeKey(key.KeyId, "test: key leaked");
        using var refreshed = new ProtectedKeyRing(_keyDirectory);
        _counting.Inner = refreshed.Provider; // the running instance's key ring after Data Protection's refresh
        Clock.Advance(DataKeyRing.WriteKeyLifetime + TimeSpan.FromSeconds(1));
        var after = await CreateSessionAsync(store, ("n", [2]));

        var wrappedUnder = ProtectedKeyRing.KeyIdOf(StoredPayload(after));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(wrappedUnder, Is.Not.EqualTo(key.KeyId), "a new data key, wrapped with the ring's new default key");
            Assert.That(refreshed.Keys.GetAllKeys().Single(k => k.KeyId == wrappedUnder).IsRevoked, Is.False);
            Assert.That(await Protected(refreshed.Provider, ignoreRevocation: false).LoadAsync(after, CancellationToken.None), Is.Not.Null,
                "an instance that refuses revoked keys reads it");
        }
    }

    private SessionStore Protected(IDataProtectionProvider provider, bool ignoreRevocation = true) =>
        new(Backend, new SessionOptions { ProtectPayloads = true, ProtectionIgnoreRevocationErrors = ignoreRevocation }, "memory", null, Clock, Logger, provider);

    private byte[] StoredPayload(string id) =>
        Memory.GetAsync(CreateStore().Keys.ForSession(id)!, CancellationToken.None).AsTask().GetAwaiter().GetResult()!.Payload.ToArray();

    private async Task PlantAsync(SessionStore store, string id, byte[] bytes)
    {
        var key = store.Keys.ForSession(id)!;
        var record = (await Memory.GetAsync(key, CancellationToken.None))!;
        await Memory.SetAsync(key, new SessionRecord(bytes, record.ExpiresAt, record.Version + 1), SetCondition.Always, CancellationToken.None);
    }

    /// <summary>Counts Protect and Unprotect calls on every protector the wrapped provider creates.</summary>
    private sealed class CountingProvider(IDataProtectionProvider inner) : IDataProtectionProvider
    {
        /// <summary>The provider calls go to; replaceable, to stand for the instance's key ring after a refresh.</summary>
        public volatile IDataProtectionProvider Inner = inner;

        private int _protects;
        private int _unprotects;

        public int Protects => Volatile.Read(ref _protects);

        public int Unprotects => Volatile.Read(ref _unprotects);

        public IDataProtector CreateProtector(string purpose) => new Counting(this, purpose);

        private sealed class Counting(CountingProvider owner, string purpose) : IDataProtector
        {
            public IDataProtector CreateProtector(string subPurpose) => throw new NotSupportedException("the codec uses one purpose");

            public byte[] Protect(byte[] plaintext)
            {
                Interlocked.Increment(ref owner._protects);
                return owner.Inner.CreateProtector(purpose).Protect(plaintext);
            }

            public byte[] Unprotect(byte[] protectedData)
            {
                Interlocked.Increment(ref owner._unprotects);
                return owner.Inner.CreateProtector(purpose).Unprotect(protectedData);
            }
        }
    }
}
