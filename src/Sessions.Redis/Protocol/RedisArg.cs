using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Sessions.Redis.Protocol;

/// <summary>
/// One argument of a command, written as a RESP bulk string when the command is sent: ASCII text, an integer, raw bytes,
/// or raw bytes behind a small prefix (a record header in front of a payload, written without concatenating them).
/// </summary>
internal readonly struct RedisArg
{
    private readonly string? _text;
    private readonly ReadOnlyMemory<byte> _prefix;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly long _number;
    private readonly Kind _kind;

    private RedisArg(Kind kind, string? text = null, ReadOnlyMemory<byte> prefix = default, ReadOnlyMemory<byte> bytes = default, long number = 0)
    {
        _kind = kind;
        _text = text;
        _prefix = prefix;
        _bytes = bytes;
        _number = number;
    }

    private enum Kind : byte
    {
        Text,
        Number,
        Bytes,
    }

    public static implicit operator RedisArg(string text) => new(Kind.Text, text: text);

    public static implicit operator RedisArg(long number) => new(Kind.Number, number: number);

    public static implicit operator RedisArg(byte[] bytes) => new(Kind.Bytes, bytes: bytes);

    public static RedisArg FromBytes(ReadOnlyMemory<byte> bytes) => new(Kind.Bytes, bytes: bytes);

    /// <summary>A single bulk string made of <paramref name="prefix"/> followed by <paramref name="bytes"/>.</summary>
    public static RedisArg Concat(ReadOnlyMemory<byte> prefix, ReadOnlyMemory<byte> bytes) => new(Kind.Bytes, prefix: prefix, bytes: bytes);

    /// <summary>The argument as text, for error messages (binary values are summarised).</summary>
    public override string ToString() => _kind switch
    {
        Kind.Text => _text!,
        Kind.Number => _number.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => $"<{_prefix.Length + _bytes.Length} bytes>",
    };

    /// <summary>The argument's bytes when it is text (command names, keys), for hash-slot routing.</summary>
    public int CopyKeyTo(Span<byte> destination) => _kind switch
    {
        Kind.Text => Encoding.ASCII.GetBytes(_text!, destination),
        Kind.Bytes when _prefix.IsEmpty => CopyBytes(_bytes.Span, destination),
        _ => throw new InvalidOperationException("Only text or byte arguments can be keys."),
    };

    public void WriteTo(IBufferWriter<byte> writer)
    {
        switch (_kind)
        {
            case Kind.Text:
                {
                    // Keys and command names are ASCII (the core guarantees it for keys); one byte per character.
                    var length = _text!.Length;
                    WriteHeader(writer, (byte)'$', length);
                    if (length > 0)
                    {
                        var span = writer.GetSpan(length);
                        Encoding.ASCII.GetBytes(_text, span);
                        writer.Advance(length);
                    }

                    WriteCrlf(writer);
                    break;
                }

            case Kind.Number:
                {
                    Span<byte> digits = stackalloc byte[20];
                    Utf8Formatter.TryFormat(_number, digits, out var length);
                    WriteHeader(writer, (byte)'$', length);
                    writer.Write(digits[..length]);
                    WriteCrlf(writer);
                    break;
                }

            default:
                WriteHeader(writer, (byte)'$', _prefix.Length + _bytes.Length);
                writer.Write(_prefix.Span);
                writer.Write(_bytes.Span);
                WriteCrlf(writer);
                break;
        }
    }

    /// <summary>Writes <c>*count\r\n</c>, the header of a command of <paramref name="count"/> arguments.</summary>
    public static void WriteArrayHeader(IBufferWriter<byte> writer, int count) => WriteHeader(writer, (byte)'*', count);

    private static void WriteHeader(IBufferWriter<byte> writer, byte marker, long value)
    {
        var span = writer.GetSpan(24);
        span[0] = marker;
        Utf8Formatter.TryFormat(value, span[1..], out var length);
        span[length + 1] = (byte)'\r';
        span[length + 2] = (byte)'\n';
        writer.Advance(length + 3);
    }

    private static void WriteCrlf(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(2);
        span[0] = (byte)'\r';
        span[1] = (byte)'\n';
        writer.Advance(2);
    }

    private static int CopyBytes(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }
}
