using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Sessions.Diagnostics;

namespace Sessions.Envelope;

/// <summary>
/// The engine's codec: encodes envelopes in the configured format, encrypted when <see cref="SessionOptions.ProtectPayloads"/>
/// is on, and decodes any stored form, told apart by the first byte:
/// <code>
/// 0x01                        binary envelope (BinaryEnvelopeFormat)
/// '{' (0x7B)                  JSON envelope (JsonEnvelopeFormat)
/// 0xD1 + protected bytes      protected envelope, version 1 (read only): the rest is IDataProtector.Protect(plain envelope)
/// 0xD2 + ...                  envelope-encrypted, version 2 (read only): the layout of version 3, with associated
///                             data = [0xD2][wrapped length][wrapped] and a random nonce
/// 0xD3 + ...                  envelope-encrypted, version 3 (written when on):
///   [0xD3][wrapped length: 2 bytes, big-endian][wrapped: IDataProtector.Protect(32-byte data key)]
///   [nonce: 12 bytes][tag: 16 bytes][AES-256-GCM ciphertext of the plain envelope], no associated data
/// </code>
/// Version 2 is envelope encryption: each codec draws a 256-bit data key (<see cref="RandomNumberGenerator"/>), wraps it
/// once with Data Protection (the purpose as in version 1) and uses it for every write for <see cref="WriteKeyLifetime"/>,
/// then draws the next (wrapped with Data Protection's default key of that moment, so a new or revoked Data Protection key
/// reaches the writes within that time). Nonces are deterministic (NIST SP 800-38D, section 8.2.1): a 4-byte field drawn with the data key,
/// then a 64-bit big-endian count of the records this codec has encrypted under that key, so no nonce repeats under one key
/// (the key never leaves this codec for writing, and <see cref="MaxRecordsPerDataKey"/> bounds the count). Version 3 needs
/// no associated data: the wrapped key selects the data key, so a record whose wrapped key was swapped fails its tag.
/// Readers unwrap a record's data key with Data Protection once and keep it in a bounded cache
/// (<see cref="MaxCachedDataKeys"/> keys, each at most <see cref="DataKeyLifetime"/> after it was cached), so a load or save
/// costs one AES-GCM operation instead of a Data Protection call (whose key derivation per call is 15 to 100 µs).
/// Data Protection still owns key rotation and revocation: the wrapped key carries its Data Protection key ID, a record
/// under an older key still reads, and the next save writes it under the current data key (wrapped with the current
/// default key). A record under a revoked key still reads while <see cref="SessionOptions.ProtectionIgnoreRevocationErrors"/>
/// is on (the default; <see cref="IPersistedDataProtector.DangerousUnprotect"/>, warning 1061 once per key) and is
/// rewritten under the current key by its next save; with the option off, a revoked key stops decrypting in a running
/// instance once the cached data keys it wrapped expire (at most <see cref="DataKeyLifetime"/>), and a new instance
/// refuses it at once. A destroyed key (gone from the ring) never decrypts. Anything that fails (bad lengths, unwrap
/// failure, tag mismatch) is reported as undecodable, never thrown.
/// </summary>
internal sealed class PayloadCodec
{
    /// <summary>The first byte of a Data Protection-protected record (version 1, read only). Neither plain format starts with it.</summary>
    public const byte ProtectedFormatByte = 0xD1;

    /// <summary>The first byte of an envelope-encrypted record, version 2 (read only: a random nonce, the header as associated data).</summary>
    public const byte EnvelopeEncryptedV2FormatByte = 0xD2;

    /// <summary>The first byte of an envelope-encrypted record, version 3 (written when protection is on).</summary>
    public const byte EnvelopeEncryptedFormatByte = 0xD3;

    /// <summary>How long an unwrapped data key stays cached for reading after it was cached.</summary>
    internal static readonly TimeSpan DataKeyLifetime = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long one data key is used for writes (1 minute): one Data Protection protect per minute per instance, and each
    /// reader's one unprotect per data key, are negligible, and a Data Protection key change reaches new records that fast.
    /// </summary>
    internal static readonly TimeSpan WriteKeyLifetime = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The most records one data key encrypts before the next is drawn, well under the 2^32 invocations NIST SP 800-38D
    /// (section 8.3) allows one key with random 96-bit nonces.
    /// </summary>
    internal const long MaxRecordsPerDataKey = 1L << 30;

    /// <summary>The most unwrapped data keys kept for reading (about 200 bytes each).</summary>
    internal const int MaxCachedDataKeys = 256;

    /// <summary>Data key size in bytes (AES-256).</summary>
    internal const int DataKeyBytes = 32;

    /// <summary>AES-GCM nonce size in bytes (the standard 96 bits): a 4-byte fixed field, then an 8-byte counter.</summary>
    internal const int NonceBytes = 12;

    private const int NonceFixedBytes = 4;

    /// <summary>AES-GCM tag size in bytes (the full 128 bits).</summary>
    internal const int TagBytes = 16;

    private const int HeaderBytes = 3; // format byte + 2-byte wrapped length

    /// <summary>AesGcm instances kept per data key for reuse (more are created under contention, then disposed).</summary>
    private static readonly int MaxPooledCiphers = Math.Max(4, Environment.ProcessorCount * 2);

    private readonly SessionFormat _format;
    private readonly int _maxBytes;
    private readonly int? _backendMaxBytes;
    private readonly string _backendName;
    private readonly bool _protect;
    private readonly IDataProtectionProvider? _provider;
    private readonly string _purpose;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<byte[], CachedKey> _keys = new(WrappedKeyComparer.Instance);
    private readonly ConcurrentDictionary<byte[], CachedKey>.AlternateLookup<ReadOnlySpan<byte>> _keysBySpan;
    private readonly bool _ignoreRevocation;
    private readonly ConcurrentDictionary<Guid, byte> _revokedKeysSeen = new();
    private IDataProtector? _protector;
    private volatile CachedKey? _current;

    /// <summary>Creates the codec.</summary>
    /// <param name="options">Validated options: format, limits, <see cref="SessionOptions.ProtectPayloads"/> and the purpose.</param>
    /// <param name="backendMaxBytes">The backend's record limit, if it states one.</param>
    /// <param name="backendName">The backend's name, for messages.</param>
    /// <param name="provider">Data Protection; <see langword="null"/> when the app has none (then protected records read as corrupt).</param>
    /// <param name="logger">Receives why a protected record could not be read.</param>
    /// <param name="timeProvider">The clock for data key lifetimes; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException"><see cref="SessionOptions.ProtectPayloads"/> is on and <paramref name="provider"/> is <see langword="null"/>.</exception>
    /// <exception cref="PlatformNotSupportedException"><see cref="SessionOptions.ProtectPayloads"/> is on and the platform has no AES-GCM (<see cref="AesGcm.IsSupported"/>).</exception>
    public PayloadCodec(SessionOptions options, int? backendMaxBytes, string backendName, IDataProtectionProvider? provider, ILogger logger, TimeProvider? timeProvider = null)
    {
        if (options.ProtectPayloads && provider is null)
        {
            throw new ArgumentException(
                "Sessions:ProtectPayloads is on but no IDataProtectionProvider was given. Register Data Protection (services.AddDataProtection()) "
                + "or pass one to the SessionStore constructor.",
                nameof(provider));
        }

        if (options.ProtectPayloads && !AesGcm.IsSupported)
        {
            throw new PlatformNotSupportedException("Sessions:ProtectPayloads needs AES-GCM, which this platform's cryptography library does not provide.");
        }

        _format = options.Format;
        _maxBytes = options.MaxPayloadBytes;
        _backendMaxBytes = backendMaxBytes;
        _backendName = backendName;
        _protect = options.ProtectPayloads;
        _provider = provider;
        _purpose = options.ProtectionPurpose;
        _ignoreRevocation = options.ProtectionIgnoreRevocationErrors;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _keysBySpan = _keys.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>Whether records are written protected.</summary>
    public bool Protects => _protect;

    /// <summary>How many unwrapped data keys are cached now (for tests).</summary>
    internal int CachedDataKeyCount => _keys.Count;

    // Created on first use, so an app that never meets a protected record never loads its key ring.
    private IDataProtector? Protector => _provider is null ? null : _protector ??= _provider.CreateProtector(_purpose);

    /// <summary>Encodes (and encrypts, when on) <paramref name="envelope"/>.</summary>
    /// <exception cref="SessionPayloadTooLargeException">The stored form would exceed the payload limit (the encryption's overhead counts).</exception>
    /// <exception cref="CryptographicException">Data Protection could not wrap a new data key (for example, no usable key and key creation disabled).</exception>
    public byte[] Encode(SessionEnvelope envelope)
    {
        var plain = EnvelopeCodec.Encode(envelope, _format, _maxBytes, _backendMaxBytes, _backendName);
        if (!_protect)
        {
            return plain;
        }

        var (key, count) = CurrentKey();
        var wrapped = key.Wrapped;
        var adBytes = HeaderBytes + wrapped.Length;
        var total = adBytes + NonceBytes + TagBytes + plain.Length;
        EnvelopeCodec.ThrowIfTooLarge(total, _maxBytes, _backendMaxBytes, _backendName);

        var payload = new byte[total];
        var span = payload.AsSpan();
        span[0] = EnvelopeEncryptedFormatByte;
        BinaryPrimitives.WriteUInt16BigEndian(span.Slice(1, 2), (ushort)wrapped.Length);
        wrapped.CopyTo(span[HeaderBytes..]);
        var nonce = span.Slice(adBytes, NonceBytes);
        var tag = span.Slice(adBytes + NonceBytes, TagBytes);
        var ciphertext = span[(adBytes + NonceBytes + TagBytes)..];
        key.NonceFixed.CopyTo(nonce);
        BinaryPrimitives.WriteInt64BigEndian(nonce[NonceFixedBytes..], count);
        var gcm = key.Rent();
        try
        {
            gcm.Encrypt(nonce, plain, ciphertext, tag);
        }
        finally
        {
            key.Return(gcm);
        }

        CryptographicOperations.ZeroMemory(plain);
        return payload;
    }

    /// <summary>Decodes a stored payload of any form. Never throws: anything unreadable returns <see langword="false"/>.</summary>
    public bool TryDecode(ReadOnlySpan<byte> payload, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SessionEnvelope? envelope)
    {
        if (payload.IsEmpty || !IsProtectedFormat(payload[0]))
        {
            return EnvelopeCodec.TryDecode(payload, out envelope);
        }

        envelope = null;
        var protector = Protector;
        if (protector is null)
        {
            Log.UnprotectFailed(_logger, _backendName, "no IDataProtectionProvider is registered (services.AddDataProtection())");
            return false;
        }

        byte[] plain;
        try
        {
            plain = payload[0] == ProtectedFormatByte
                ? Unprotect(protector, payload[1..].ToArray())
                : DecryptEnvelope(payload, protector);
        }
        catch (CryptographicException ex)
        {
            Log.UnprotectFailed(_logger, _backendName, ex.Message);
            return false;
        }

        // The plaintext is a plain envelope; a nested protected one is not something this codec writes.
        var ok = plain.Length > 0 && !IsProtectedFormat(plain[0]) && EnvelopeCodec.TryDecode(plain, out envelope);
        CryptographicOperations.ZeroMemory(plain);
        return ok;
    }

    private static bool IsProtectedFormat(byte first) =>
        first is ProtectedFormatByte or EnvelopeEncryptedV2FormatByte or EnvelopeEncryptedFormatByte;

    /// <exception cref="CryptographicException">Bad lengths, a data key that cannot be unwrapped, or a tag mismatch.</exception>
    private byte[] DecryptEnvelope(ReadOnlySpan<byte> payload, IDataProtector protector)
    {
        if (payload.Length < HeaderBytes)
        {
            throw new CryptographicException($"the record is {payload.Length} bytes, too short for a 0x{payload[0]:X2} header");
        }

        var wrappedLength = BinaryPrimitives.ReadUInt16BigEndian(payload.Slice(1, 2));
        var adBytes = HeaderBytes + wrappedLength;
        if (wrappedLength == 0 || payload.Length < adBytes + NonceBytes + TagBytes)
        {
            throw new CryptographicException($"the record is {payload.Length} bytes, too short for its wrapped key ({wrappedLength} bytes), nonce and tag");
        }

        var key = KeyFor(payload.Slice(HeaderBytes, wrappedLength), protector);
        var ciphertext = payload[(adBytes + NonceBytes + TagBytes)..];
        var plain = new byte[ciphertext.Length];
        var gcm = key.Rent();
        try
        {
            var associatedData = payload[0] == EnvelopeEncryptedV2FormatByte ? payload[..adBytes] : [];
            gcm.Decrypt(payload.Slice(adBytes, NonceBytes), ciphertext, payload.Slice(adBytes + NonceBytes, TagBytes), plain, associatedData);
        }
        finally
        {
            key.Return(gcm);
        }

        return plain;
    }

    /// <summary>The unwrapped data key for <paramref name="wrapped"/>: from the cache, or unwrapped with Data Protection (which checks revocation).</summary>
    private CachedKey KeyFor(ReadOnlySpan<byte> wrapped, IDataProtector protector)
    {
        var now = _time.GetUtcNow();
        if (_keysBySpan.TryGetValue(wrapped, out var cached) && now < cached.ExpiresAt)
        {
            return cached;
        }

        var wrappedCopy = wrapped.ToArray();
        var key = Unprotect(protector, wrappedCopy);
        if (key.Length != DataKeyBytes)
        {
            throw new CryptographicException($"the unwrapped data key is {key.Length} bytes, expected {DataKeyBytes}");
        }

        cached = new CachedKey(key, wrappedCopy, now + DataKeyLifetime);
        Remember(cached, now);
        return cached;
    }

    /// <summary>
    /// Data Protection's <see cref="IDataProtector.Unprotect"/>; when that fails and
    /// <see cref="SessionOptions.ProtectionIgnoreRevocationErrors"/> is on, <see cref="IPersistedDataProtector.DangerousUnprotect"/>
    /// ignoring revocation, so a record under a revoked key still reads (warning 1061, once per Data Protection key). A key
    /// gone from the ring, another ring or purpose, or tampered bytes fail both ways.
    /// </summary>
    /// <exception cref="CryptographicException">Data Protection could not unprotect <paramref name="protectedData"/>.</exception>
    private byte[] Unprotect(IDataProtector protector, byte[] protectedData)
    {
        try
        {
            return protector.Unprotect(protectedData);
        }
        catch (CryptographicException) when (_ignoreRevocation && protector is IPersistedDataProtector persisted)
        {
            // Throws again for anything but a revoked key; requiresMigration is not needed: every save writes under the
            // current data key, wrapped with the current default key.
            var plain = persisted.DangerousUnprotect(protectedData, ignoreRevocationErrors: true, out _, out var wasRevoked);
            if (wasRevoked)
            {
                WarnRevokedOnce(protectedData);
            }

            return plain;
        }
    }

    /// <summary>Logs 1061 the first time this codec reads under a revoked Data Protection key (named by the payload's header).</summary>
    private void WarnRevokedOnce(ReadOnlySpan<byte> protectedData)
    {
        // Data Protection's payload starts with a 4-byte magic header, then the 16-byte ID of the key that protected it.
        // Keyed by that ID, the set holds at most one entry per revoked key of the ring that a record really used.
        var keyId = protectedData.Length >= 20 ? new Guid(protectedData.Slice(4, 16)) : Guid.Empty;
        if (_revokedKeysSeen.TryAdd(keyId, 0))
        {
            Log.ReadUnderRevokedKey(_logger, _backendName, keyId);
        }
    }

    /// <summary>
    /// The data key for writes, drawn and wrapped anew when the current one is older than <see cref="WriteKeyLifetime"/> or
    /// has encrypted <see cref="MaxRecordsPerDataKey"/> records, with this record's number under it (1 for the first): the
    /// nonce's counter, unique per key.
    /// </summary>
    private (CachedKey Key, long Count) CurrentKey()
    {
        var now = _time.GetUtcNow();
        var current = _current;
        long count;
        if (current is not null && now < current.WriteUntil && (count = Interlocked.Increment(ref current.Uses)) <= MaxRecordsPerDataKey)
        {
            return (current, count);
        }

        lock (_gate)
        {
            current = _current;
            if (current is not null && now < current.WriteUntil && (count = Interlocked.Increment(ref current.Uses)) <= MaxRecordsPerDataKey)
            {
                return (current, count);
            }

            var key = RandomNumberGenerator.GetBytes(DataKeyBytes);
            var wrapped = Protector!.Protect(key);
            if (wrapped.Length > ushort.MaxValue)
            {
                throw new CryptographicException($"Data Protection wrapped the data key into {wrapped.Length} bytes, more than the format's 65535");
            }

            current = new CachedKey(key, wrapped, now + DataKeyLifetime) { Uses = 1, WriteUntil = now + WriteKeyLifetime };
            RandomNumberGenerator.Fill(current.NonceFixed);
            Remember(current, now); // this instance reads its own records without unwrapping
            _current = current;
            return (current, 1);
        }
    }

    /// <summary>Caches an unwrapped key, first dropping expired ones and, when still full, the one closest to expiry.</summary>
    private void Remember(CachedKey entry, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (!_keys.ContainsKey(entry.Wrapped) && _keys.Count >= MaxCachedDataKeys)
            {
                foreach (var pair in _keys)
                {
                    if (pair.Value.ExpiresAt <= now)
                    {
                        _keys.TryRemove(pair.Key, out _);
                    }
                }

                while (_keys.Count >= MaxCachedDataKeys)
                {
                    var oldest = _keys.MinBy(p => p.Value.ExpiresAt);
                    _keys.TryRemove(oldest.Key, out _);
                }
            }

            _keys[entry.Wrapped] = entry;
        }
    }

    private sealed class CachedKey(byte[] key, byte[] wrapped, DateTimeOffset expiresAt)
    {
        public byte[] Key { get; } = key;

        public byte[] Wrapped { get; } = wrapped;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        /// <summary>Records encrypted under this key by this instance (write keys only).</summary>
        public long Uses;

        /// <summary>Until when this instance encrypts new records under this key (write keys only).</summary>
        public DateTimeOffset WriteUntil { get; init; }

        /// <summary>The nonces' fixed field, drawn with a write key.</summary>
        public byte[] NonceFixed { get; } = new byte[NonceFixedBytes];

        // AesGcm is not documented thread-safe, and creating one (a cipher context) costs microseconds: each call rents one.
        private readonly ConcurrentQueue<AesGcm> _pool = new();

        public AesGcm Rent() => _pool.TryDequeue(out var gcm) ? gcm : new AesGcm(Key, TagBytes);

        public void Return(AesGcm gcm)
        {
            if (_pool.Count < MaxPooledCiphers)
            {
                _pool.Enqueue(gcm);
            }
            else
            {
                gcm.Dispose();
            }
        }
    }

    /// <summary>Exact byte equality of wrapped keys (public bytes, stored in records), with lookups by span.</summary>
    private sealed class WrappedKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly WrappedKeyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
