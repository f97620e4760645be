using System.Buffers.Text;
using System.Security.Cryptography;

namespace Sessions.Ids;

/// <summary>The default generator: random bytes from the operating system's CSPRNG, base64url-encoded without padding.</summary>
public sealed class SessionIdGenerator : ISessionIdGenerator
{
    /// <summary>The fewest random bytes allowed in an ID (128 bits).</summary>
    public const int MinIdLengthBytes = 16;

    /// <summary>The most random bytes allowed in an ID.</summary>
    public const int MaxIdLengthBytes = 128;

    /// <summary>The default number of random bytes (256 bits).</summary>
    public const int DefaultIdLengthBytes = 32;

    private readonly int _bytes;
    private readonly int _chars;

    /// <summary>Creates a generator.</summary>
    /// <param name="idLengthBytes">Random bytes per ID, between <see cref="MinIdLengthBytes"/> and <see cref="MaxIdLengthBytes"/>.</param>
    public SessionIdGenerator(int idLengthBytes = DefaultIdLengthBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(idLengthBytes, MinIdLengthBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(idLengthBytes, MaxIdLengthBytes);
        _bytes = idLengthBytes;
        _chars = Base64Url.GetEncodedLength(idLengthBytes);
    }

    /// <summary>The length of every ID this generator creates, in characters.</summary>
    public int IdLength => _chars;

    /// <inheritdoc />
    public string CreateId()
    {
        Span<byte> random = stackalloc byte[MaxIdLengthBytes];
        random = random[.._bytes];
        RandomNumberGenerator.Fill(random);
        return Base64Url.EncodeToString(random);
    }

    /// <inheritdoc />
    public bool IsWellFormed(ReadOnlySpan<char> id)
    {
        if (id.Length != _chars)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
