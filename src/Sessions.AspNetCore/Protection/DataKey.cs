using System.Collections.Concurrent;
using System.Security.Cryptography;
using Sessions.Envelope;

namespace Sessions.Protection;

/// <summary>
/// One unwrapped data key (AES-256) with its wrapped form as stored in records, how long it stays cached, and, for a
/// write key, the nonces' fixed field and the count of records encrypted under it.
/// </summary>
internal sealed class DataKey(byte[] key, byte[] wrapped, DateTimeOffset expiresAt)
{
    /// <summary>AesGcm instances kept per data key for reuse (more are created under contention, then disposed).</summary>
    private static readonly int MaxPooledCiphers = Math.Max(4, Environment.ProcessorCount * 2);

    // AesGcm is not documented thread-safe, and creating one (a cipher context) costs microseconds: each call rents one.
    private readonly ConcurrentQueue<AesGcm> _pool = new();

    /// <summary>Records encrypted under this key by this instance (write keys only).</summary>
    public long Uses;

    public byte[] Key { get; } = key;

    public byte[] Wrapped { get; } = wrapped;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    /// <summary>Until when this instance encrypts new records under this key (write keys only).</summary>
    public DateTimeOffset WriteUntil { get; init; }

    /// <summary>The nonces' fixed field, drawn with a write key.</summary>
    public byte[] NonceFixed { get; } = new byte[PayloadCodec.NonceFixedBytes];

    public AesGcm Rent() => _pool.TryDequeue(out var gcm) ? gcm : new AesGcm(Key, PayloadCodec.TagBytes);

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
internal sealed class WrappedKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
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
