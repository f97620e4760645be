using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;

namespace Sessions.Redis.Protocol;

/// <summary>
/// One argument of a command, written as a RESP bulk string: ASCII text, an integer in decimal, raw bytes, a 64-bit
/// integer as 8 raw big-endian bytes, or a small header (a tag byte and two big-endian 64-bit integers) in front of raw
/// bytes, written without building the header or concatenating. Arguments live on the caller's stack (commands take a
/// <see cref="ReadOnlySpan{T}"/> of them) and are encoded before the call returns; see <see cref="EncodedCommand"/>.
/// </summary>
internal readonly struct RedisArg
{
    private readonly string? _text;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly long _number;
    private readonly long _second;
    private readonly byte _tag;
    private readonly Kind _kind;

    private RedisArg(Kind kind, string? text = null, ReadOnlyMemory<byte> bytes = default, long number = 0, long second = 0, byte tag = 0)
    {
        _kind = kind;
        _text = text;
        _bytes = bytes;
        _number = number;
        _second = second;
        _tag = tag;
    }

    private enum Kind : byte
    {
        Text,
        Number,
        Bytes,
        BigEndian,
        Headed,
    }

    /// <summary>The length of <see cref="Headed"/>'s header: a tag byte and two 64-bit integers.</summary>
    public const int HeaderLength = 17;

    public static implicit operator RedisArg(string text) => new(Kind.Text, text: text);

    public static implicit operator RedisArg(long number) => new(Kind.Number, number: number);

    public static implicit operator RedisArg(byte[] bytes) => new(Kind.Bytes, bytes: bytes);

    public static RedisArg FromBytes(ReadOnlyMemory<byte> bytes) => new(Kind.Bytes, bytes: bytes);

    /// <summary>The 8 bytes of <paramref name="value"/>, big-endian (byte-comparable by a script, unlike a Lua number).</summary>
    public static RedisArg BigEndian(long value) => new(Kind.BigEndian, number: value);

    /// <summary>A single bulk string: <paramref name="tag"/>, <paramref name="first"/> and <paramref name="second"/> big-endian,
    /// then <paramref name="bytes"/> (<see cref="HeaderLength"/> + its length bytes in all).</summary>
    public static RedisArg Headed(byte tag, long first, long second, ReadOnlyMemory<byte> bytes) =>
        new(Kind.Headed, bytes: bytes, number: first, second: second, tag: tag);

    /// <summary>The argument as text, for error messages (binary values are summarised).</summary>
    public override string ToString() => _kind switch
    {
        Kind.Text => _text!,
        Kind.Number => _number.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => $"<{ValueLength} bytes>",
    };

    /// <summary>The argument's bytes when it is text (command names, keys), for hash-slot routing.</summary>
    public int CopyKeyTo(Span<byte> destination) => _kind switch
    {
        Kind.Text => Encoding.ASCII.GetBytes(_text!, destination),
        Kind.Bytes => CopyBytes(_bytes.Span, destination),
        _ => throw new InvalidOperationException("Only text or byte arguments can be keys."),
    };

    /// <summary>How many bytes <see cref="Encode"/> writes: <c>$length\r\n</c>, the value, <c>\r\n</c>.</summary>
    public int EncodedLength => DigitCount(ValueLength) + ValueLength + 5;

    /// <summary>Writes the argument as a bulk string at the start of <paramref name="destination"/>; returns the bytes written.</summary>
    public int Encode(Span<byte> destination)
    {
        var length = ValueLength;
        var at = EncodeHeader(destination, (byte)'$', length);
        var value = destination.Slice(at, length);
        switch (_kind)
        {
            case Kind.Text:
                // Keys and command names are ASCII (the core guarantees it for keys); one byte per character.
                Encoding.ASCII.GetBytes(_text!, value);
                break;
            case Kind.Number:
                Utf8Formatter.TryFormat(_number, value, out _);
                break;
            case Kind.BigEndian:
                BinaryPrimitives.WriteInt64BigEndian(value, _number);
                break;
            case Kind.Headed:
                value[0] = _tag;
                BinaryPrimitives.WriteInt64BigEndian(value[1..], _number);
                BinaryPrimitives.WriteInt64BigEndian(value[9..], _second);
                _bytes.Span.CopyTo(value[HeaderLength..]);
                break;
            default:
                _bytes.Span.CopyTo(value);
                break;
        }

        at += length;
        destination[at] = (byte)'\r';
        destination[at + 1] = (byte)'\n';
        return at + 2;
    }

    /// <summary>Writes <c>*count\r\n</c> (the header of a command of <paramref name="count"/> arguments); returns the bytes written.</summary>
    public static int EncodeArrayHeader(Span<byte> destination, int count) => EncodeHeader(destination, (byte)'*', count);

    /// <summary>The length of <see cref="EncodeArrayHeader"/>'s output.</summary>
    public static int ArrayHeaderLength(int count) => DigitCount(count) + 3;

    private int ValueLength => _kind switch
    {
        Kind.Text => _text!.Length,
        Kind.Number => DigitCount(_number),
        Kind.BigEndian => 8,
        Kind.Headed => HeaderLength + _bytes.Length,
        _ => _bytes.Length,
    };

    private static int EncodeHeader(Span<byte> destination, byte marker, long value)
    {
        destination[0] = marker;
        Utf8Formatter.TryFormat(value, destination[1..], out var length);
        destination[length + 1] = (byte)'\r';
        destination[length + 2] = (byte)'\n';
        return length + 3;
    }

    private static int DigitCount(long value)
    {
        var sign = value < 0 ? 1 : 0;
        var magnitude = value < 0 ? (ulong)(-(value + 1)) + 1 : (ulong)value;
        var digits = 1;
        while (magnitude >= 10)
        {
            magnitude /= 10;
            digits++;
        }

        return digits + sign;
    }

    private static int CopyBytes(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }
}
