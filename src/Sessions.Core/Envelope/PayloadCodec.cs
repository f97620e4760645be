using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Sessions.Diagnostics;

namespace Sessions.Envelope;

/// <summary>
/// The engine's codec: encodes envelopes in the configured format, protected with Data Protection when
/// <see cref="SessionOptions.ProtectPayloads"/> is on, and decodes any stored form, told apart by the first byte:
/// <code>
/// 0x01                        binary envelope (BinaryEnvelopeFormat)
/// '{' (0x7B)                  JSON envelope (JsonEnvelopeFormat)
/// 0xD1 + protected bytes      protected envelope, version 1: the rest is IDataProtector.Protect(binary or JSON envelope)
/// </code>
/// The protected bytes are Data Protection's own authenticated payload (magic header, key ID, ciphertext and MAC), so the
/// key that wrote a record is found in it and key rotation is Data Protection's: a record under an older key in the ring
/// still reads, and the next save writes it with the current default key. A record that fails to unprotect (key destroyed
/// or revoked, another app's key ring or purpose, tampered bytes) is reported as undecodable, never thrown.
/// </summary>
internal sealed class PayloadCodec
{
    /// <summary>The first byte of a protected record (version 1). Neither plain format starts with it.</summary>
    public const byte ProtectedFormatByte = 0xD1;

    private readonly SessionFormat _format;
    private readonly int _maxBytes;
    private readonly int? _backendMaxBytes;
    private readonly string _backendName;
    private readonly bool _protect;
    private readonly IDataProtectionProvider? _provider;
    private readonly string _purpose;
    private readonly ILogger _logger;
    private IDataProtector? _protector;

    /// <summary>Creates the codec.</summary>
    /// <param name="options">Validated options: format, limits, <see cref="SessionOptions.ProtectPayloads"/> and the purpose.</param>
    /// <param name="backendMaxBytes">The backend's record limit, if it states one.</param>
    /// <param name="backendName">The backend's name, for messages.</param>
    /// <param name="provider">Data Protection; <see langword="null"/> when the app has none (then protected records read as corrupt).</param>
    /// <param name="logger">Receives why a protected record could not be read.</param>
    /// <exception cref="ArgumentException"><see cref="SessionOptions.ProtectPayloads"/> is on and <paramref name="provider"/> is <see langword="null"/>.</exception>
    public PayloadCodec(SessionOptions options, int? backendMaxBytes, string backendName, IDataProtectionProvider? provider, ILogger logger)
    {
        if (options.ProtectPayloads && provider is null)
        {
            throw new ArgumentException(
                "Sessions:ProtectPayloads is on but no IDataProtectionProvider was given. Register Data Protection (services.AddDataProtection()) "
                + "or pass one to the SessionStore constructor.",
                nameof(provider));
        }

        _format = options.Format;
        _maxBytes = options.MaxPayloadBytes;
        _backendMaxBytes = backendMaxBytes;
        _backendName = backendName;
        _protect = options.ProtectPayloads;
        _provider = provider;
        _purpose = options.ProtectionPurpose;
        _logger = logger;
    }

    /// <summary>Whether records are written protected.</summary>
    public bool Protects => _protect;

    // Created on first use, so an app that never meets a protected record never loads its key ring.
    private IDataProtector? Protector => _provider is null ? null : _protector ??= _provider.CreateProtector(_purpose);

    /// <summary>Encodes (and protects, when on) <paramref name="envelope"/>.</summary>
    /// <exception cref="SessionPayloadTooLargeException">The stored form would exceed the payload limit (protection's overhead counts).</exception>
    /// <exception cref="CryptographicException">Data Protection could not protect (for example, no usable key and key creation disabled).</exception>
    public byte[] Encode(SessionEnvelope envelope)
    {
        var plain = EnvelopeCodec.Encode(envelope, _format, _maxBytes, _backendMaxBytes, _backendName);
        if (!_protect)
        {
            return plain;
        }

        var protectedBytes = Protector!.Protect(plain);
        EnvelopeCodec.ThrowIfTooLarge(1 + protectedBytes.Length, _maxBytes, _backendMaxBytes, _backendName);
        var payload = new byte[1 + protectedBytes.Length];
        payload[0] = ProtectedFormatByte;
        protectedBytes.CopyTo(payload, 1);
        return payload;
    }

    /// <summary>Decodes a stored payload of any form. Never throws: anything unreadable returns <see langword="false"/>.</summary>
    public bool TryDecode(ReadOnlySpan<byte> payload, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SessionEnvelope? envelope)
    {
        if (payload.IsEmpty || payload[0] != ProtectedFormatByte)
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
            plain = protector.Unprotect(payload[1..].ToArray());
        }
        catch (CryptographicException ex)
        {
            Log.UnprotectFailed(_logger, _backendName, ex.Message);
            return false;
        }

        // The protected bytes hold a plain envelope; a nested protected one is not something this codec writes.
        return plain.Length > 0 && plain[0] != ProtectedFormatByte && EnvelopeCodec.TryDecode(plain, out envelope);
    }
}
