using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Sessions.Diagnostics;
using Sessions.Protection;

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
/// once with Data Protection (the purpose as in version 1) and uses it for every write for <see cref="DataKeyRing.WriteKeyLifetime"/>,
/// then draws the next (wrapped with Data Protection's default key of that moment, so a new or revoked Data Protection key
/// reaches the writes within that time). Nonces are deterministic (NIST SP 800-38D, section 8.2.1): a 4-byte field drawn with the data key,
/// then a 64-bit big-endian count of the records this codec has encrypted under that key, so no nonce repeats under one key
/// (the key never leaves this codec for writing, and <see cref="DataKeyRing.MaxRecordsPerDataKey"/> bounds the count). Version 3 needs
/// no associated data: the wrapped key selects the data key, so a record whose wrapped key was swapped fails its tag.
/// Readers unwrap a record's data key with Data Protection once and keep it in a bounded cache
/// (<see cref="DataKeyRing.MaxCachedDataKeys"/> keys, each at most <see cref="DataKeyRing.DataKeyLifetime"/> after it was cached), so a load or save
/// costs one AES-GCM operation instead of a Data Protection call (whose key derivation per call is 15 to 100 µs).
/// Data Protection still owns key rotation and revocation: the wrapped key carries its Data Protection key ID, a record
/// under an older key still reads, and the next save writes it under the current data key (wrapped with the current
/// default key). A record under a revoked key still reads while <see cref="SessionOptions.ProtectionIgnoreRevocationErrors"/>
/// is on (the default; <see cref="IPersistedDataProtector.DangerousUnprotect"/>, warning 1061 once per key) and is
/// rewritten under the current key by its next save; with the option off, a revoked key stops decrypting in a running
/// instance once the cached data keys it wrapped expire (at most <see cref="DataKeyRing.DataKeyLifetime"/>), and a new instance
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

    /// <summary>AES-GCM nonce size in bytes (the standard 96 bits): a 4-byte fixed field, then an 8-byte counter.</summary>
    internal const int NonceBytes = 12;

    /// <summary>The nonce's fixed field, drawn with each write key; the rest is the key's record count.</summary>
    internal const int NonceFixedBytes = 4;

    /// <summary>AES-GCM tag size in bytes (the full 128 bits).</summary>
    internal const int TagBytes = 16;

    private const int HeaderBytes = 3; // format byte + 2-byte wrapped length

    private readonly SessionFormat _format;
    private readonly int _maxBytes;
    private readonly int? _backendMaxBytes;
    private readonly string _backendName;
    private readonly bool _protect;
    private readonly ILogger _logger;
    private readonly DataKeyRing _ring;

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
        _logger = logger;
        _ring = new DataKeyRing(options, provider, backendName, logger, timeProvider ?? TimeProvider.System);
    }

    /// <summary>Whether records are written protected.</summary>
    public bool Protects => _protect;

    /// <summary>How many unwrapped data keys are cached now (for tests).</summary>
    internal int CachedDataKeyCount => _ring.CachedCount;

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

        var (key, count) = _ring.CurrentWriteKey();
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
        if (!_ring.HasProtector)
        {
            Log.UnprotectFailed(_logger, _backendName, "no IDataProtectionProvider is registered (services.AddDataProtection())");
            return false;
        }

        byte[] plain;
        try
        {
            plain = payload[0] == ProtectedFormatByte
                ? _ring.Unprotect(payload[1..].ToArray())
                : DecryptEnvelope(payload);
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
    private byte[] DecryptEnvelope(ReadOnlySpan<byte> payload)
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

        var key = _ring.KeyFor(payload.Slice(HeaderBytes, wrappedLength));
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
}
