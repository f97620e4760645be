using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Sessions.Diagnostics;

namespace Sessions.Protection;

/// <summary>
/// The data keys of envelope encryption, wrapped and unwrapped with ASP.NET Core Data Protection: the current write key
/// (drawn anew every <see cref="WriteKeyLifetime"/> or <see cref="MaxRecordsPerDataKey"/> records, wrapped with Data
/// Protection's default key of that moment), and a bounded cache of unwrapped keys for reading
/// (<see cref="MaxCachedDataKeys"/> keys, each at most <see cref="DataKeyLifetime"/>), so a load or save costs one AES-GCM
/// operation instead of a Data Protection call. Unwrapping honours revocation as
/// <see cref="SessionOptions.ProtectionIgnoreRevocationErrors"/> says.
/// </summary>
internal sealed class DataKeyRing
{
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

    private readonly IDataProtectionProvider? _provider;
    private readonly string _purpose;
    private readonly bool _ignoreRevocation;
    private readonly string _backendName;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<byte[], DataKey> _keys = new(WrappedKeyComparer.Instance);
    private readonly ConcurrentDictionary<byte[], DataKey>.AlternateLookup<ReadOnlySpan<byte>> _keysBySpan;
    private readonly ConcurrentDictionary<Guid, byte> _revokedKeysSeen = new();
    private IDataProtector? _protector;
    private volatile DataKey? _current;

    /// <summary>Creates the ring.</summary>
    /// <param name="options">The purpose and the revocation rule.</param>
    /// <param name="provider">Data Protection; <see langword="null"/> when the app has none.</param>
    /// <param name="backendName">The backend's name, for logs.</param>
    /// <param name="logger">Receives warning 1061 (a read under a revoked key).</param>
    /// <param name="timeProvider">The clock for key lifetimes.</param>
    public DataKeyRing(SessionOptions options, IDataProtectionProvider? provider, string backendName, ILogger logger, TimeProvider timeProvider)
    {
        _provider = provider;
        _purpose = options.ProtectionPurpose;
        _ignoreRevocation = options.ProtectionIgnoreRevocationErrors;
        _backendName = backendName;
        _logger = logger;
        _time = timeProvider;
        _keysBySpan = _keys.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>Whether the app has Data Protection (else nothing protected can be read or written).</summary>
    public bool HasProtector => _provider is not null;

    /// <summary>How many unwrapped data keys are cached now (for tests).</summary>
    public int CachedCount => _keys.Count;

    // Created on first use, so an app that never meets a protected record never loads its key ring.
    private IDataProtector Protector => _protector ??= _provider!.CreateProtector(_purpose);

    /// <summary>The unwrapped data key for <paramref name="wrapped"/>: from the cache, or unwrapped with Data Protection (which checks revocation).</summary>
    public DataKey KeyFor(ReadOnlySpan<byte> wrapped)
    {
        var now = _time.GetUtcNow();
        if (_keysBySpan.TryGetValue(wrapped, out var cached) && now < cached.ExpiresAt)
        {
            return cached;
        }

        var wrappedCopy = wrapped.ToArray();
        var key = Unprotect(wrappedCopy);
        if (key.Length != DataKeyBytes)
        {
            throw new CryptographicException($"the unwrapped data key is {key.Length} bytes, expected {DataKeyBytes}");
        }

        cached = new DataKey(key, wrappedCopy, now + DataKeyLifetime);
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
    public byte[] Unprotect(byte[] protectedData)
    {
        var protector = Protector;
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
    public (DataKey Key, long Count) CurrentWriteKey()
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
            var wrapped = Protector.Protect(key);
            if (wrapped.Length > ushort.MaxValue)
            {
                throw new CryptographicException($"Data Protection wrapped the data key into {wrapped.Length} bytes, more than the format's 65535");
            }

            current = new DataKey(key, wrapped, now + DataKeyLifetime) { Uses = 1, WriteUntil = now + WriteKeyLifetime };
            RandomNumberGenerator.Fill(current.NonceFixed);
            Remember(current, now); // this instance reads its own records without unwrapping
            _current = current;
            return (current, 1);
        }
    }

    /// <summary>Caches an unwrapped key, first dropping expired ones and, when still full, the one closest to expiry.</summary>
    private void Remember(DataKey entry, DateTimeOffset now)
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
}
