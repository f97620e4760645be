using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Sessions.Backends;

namespace Sessions.Engine;

/// <summary>
/// Turns session IDs and user IDs into storage keys: <c>{prefix}{base64url(SHA-256(id))}</c> by default, so a leaked
/// store holds no usable cookies; <c>{prefix}{id}</c> when hashing at rest is off. User index keys are <c>{prefix}u:{hash}</c>.
/// </summary>
public sealed class SessionKeyBuilder
{
    private const int HashChars = 43; // base64url of 32 bytes, unpadded
    private readonly string _prefix;
    private readonly bool _hash;

    /// <summary>Creates a key builder.</summary>
    /// <param name="prefix">Prefix of every key.</param>
    /// <param name="hashIdsAtRest">Whether session IDs are hashed in keys.</param>
    public SessionKeyBuilder(string prefix, bool hashIdsAtRest)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        _prefix = prefix;
        _hash = hashIdsAtRest;
    }

    /// <summary>The prefix of every key.</summary>
    public string Prefix => _prefix;

    /// <summary>Builds the storage key of a session.</summary>
    /// <param name="sessionId">The session ID.</param>
    /// <returns>The key, or <see langword="null"/> when the raw ID cannot form a valid key (hashing off and the ID too long or not printable ASCII).</returns>
    public string? ForSession(string sessionId)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        if (_hash)
        {
            return Hashed(_prefix, string.Empty, sessionId);
        }

        var key = string.Concat(_prefix, sessionId);
        return SessionKeys.IsValid(key) ? key : null;
    }

    /// <summary>Builds the key of a user's index record (always hashed: user names are personal data).</summary>
    /// <param name="userId">The user ID.</param>
    /// <returns>The key.</returns>
    public string ForUser(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        return Hashed(_prefix, "u:", userId);
    }

    private static string Hashed(string prefix, string infix, string value)
    {
        Span<byte> hash = stackalloc byte[32];
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (max <= 512)
        {
            Span<byte> utf8 = stackalloc byte[512];
            var n = Encoding.UTF8.GetBytes(value, utf8);
            SHA256.HashData(utf8[..n], hash);
        }
        else
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(value), hash);
        }

        return string.Create(prefix.Length + infix.Length + HashChars, (prefix, infix, Hash: new HashBytes(hash)), static (span, state) =>
        {
            state.prefix.AsSpan().CopyTo(span);
            state.infix.AsSpan().CopyTo(span[state.prefix.Length..]);
            var hash = state.Hash;
            Base64Url.EncodeToChars(hash, span[(state.prefix.Length + state.infix.Length)..]);
        });
    }

    // string.Create's state cannot hold a span; 32 bytes copied into a struct is cheaper than an array.
    [System.Runtime.CompilerServices.InlineArray(32)]
    private struct HashBytes
    {
        private byte _element0;

        public HashBytes(ReadOnlySpan<byte> source) => source.CopyTo(this);
    }
}
