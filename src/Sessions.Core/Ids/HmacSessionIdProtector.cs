using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Sessions.Ids;

/// <summary>
/// Signs session IDs with HMAC-SHA256 over a key ring: the value is <c>{id}.{base64url(mac)}</c>. The first key signs;
/// every key verifies, so a key can be rotated in at the front and the old one retired later. Verification is constant-time.
/// </summary>
public sealed class HmacSessionIdProtector : ISessionIdProtector
{
    /// <summary>The fewest bytes a signing key may have.</summary>
    public const int MinKeyBytes = 32;

    private const int MacBytes = 32;
    private const int MaxIdChars = 512;
    private static readonly int s_macChars = Base64Url.GetEncodedLength(MacBytes);

    private readonly byte[][] _keys;

    /// <summary>Creates a protector.</summary>
    /// <param name="keys">The key ring, signing key first; each at least <see cref="MinKeyBytes"/> bytes.</param>
    public HmacSessionIdProtector(IEnumerable<byte[]> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = [.. keys.Select(k => (byte[])k.Clone())];
        if (_keys.Length == 0)
        {
            throw new ArgumentException("At least one signing key is required.", nameof(keys));
        }

        if (_keys.Any(k => k.Length < MinKeyBytes))
        {
            throw new ArgumentException($"Every signing key must have at least {MinKeyBytes} bytes.", nameof(keys));
        }
    }

    /// <inheritdoc />
    public string Protect(string sessionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        if (sessionId.Length > MaxIdChars || sessionId.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException("A session ID to sign must be at most 512 characters and contain no '.'.", nameof(sessionId));
        }

        Span<byte> mac = stackalloc byte[MacBytes];
        Compute(_keys[0], sessionId, mac);
        return string.Concat(sessionId, ".", Base64Url.EncodeToString(mac));
    }

    /// <inheritdoc />
    public bool TryUnprotect(ReadOnlySpan<char> value, [NotNullWhen(true)] out string? sessionId)
    {
        sessionId = null;
        var dot = value.LastIndexOf('.');
        if (dot <= 0 || dot > MaxIdChars || value.Length - dot - 1 != s_macChars)
        {
            return false;
        }

        Span<byte> presented = stackalloc byte[MacBytes];
        if (Base64Url.DecodeFromChars(value[(dot + 1)..], presented, out var consumed, out var written) != System.Buffers.OperationStatus.Done
            || consumed != s_macChars || written != MacBytes)
        {
            return false;
        }

        var id = value[..dot];
        Span<byte> expected = stackalloc byte[MacBytes];
        var match = false;

        // Check every key, without stopping early, so timing does not reveal which key (if any) matched.
        foreach (var key in _keys)
        {
            Compute(key, id, expected);
            match |= CryptographicOperations.FixedTimeEquals(expected, presented);
        }

        if (match)
        {
            sessionId = id.ToString();
        }

        return match;
    }

    /// <summary>Decodes a configured key written as base64 or base64url; <see langword="null"/> when it is neither.</summary>
    /// <param name="key">The configured key.</param>
    /// <returns>The key bytes, or <see langword="null"/>.</returns>
    public static byte[]? DecodeKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var trimmed = key.Trim();
        try
        {
            return Convert.FromBase64String(trimmed);
        }
        catch (FormatException)
        {
            var buffer = new byte[Base64Url.GetMaxDecodedLength(trimmed.Length)];
            return Base64Url.DecodeFromChars(trimmed, buffer, out _, out var written) == System.Buffers.OperationStatus.Done
                ? buffer[..written]
                : null;
        }
    }

    private static void Compute(byte[] key, ReadOnlySpan<char> id, Span<byte> destination)
    {
        Span<byte> utf8 = stackalloc byte[MaxIdChars * 3];
        var length = Encoding.UTF8.GetBytes(id, utf8);
        HMACSHA256.HashData(key, utf8[..length], destination);
    }
}
