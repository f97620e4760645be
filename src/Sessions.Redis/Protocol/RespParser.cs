using System.Buffers;
using System.Buffers.Text;

namespace Sessions.Redis.Protocol;

/// <summary>
/// Parses RESP2 and RESP3 replies from a possibly incomplete buffer. Returns <see langword="false"/> when the buffer ends
/// inside a reply; the caller then waits for more bytes and parses again from the same start. RESP3 types are folded into
/// what the same command answers in RESP2, so callers read both protocols alike: null (<c>_</c>) is nil, a boolean
/// (<c>#</c>) the integer 1 or 0, a double (<c>,</c>), big number (<c>(</c>) or verbatim string (<c>=</c>, without its
/// format prefix) a bulk string, a map (<c>%</c>) a flat array of keys and values, a set (<c>~</c>) an array, a blob error
/// (<c>!</c>) an error. An attribute (<c>|</c>) is skipped along with nothing else: the reply it annotates is returned.
/// A push (<c>&gt;</c>) comes back as <see cref="RespType.Push"/>, which the connection never hands to a command.
/// Streamed strings and aggregates (<c>$?</c>, <c>*?</c>) are not supported: Redis and Garnet do not send them.
/// </summary>
internal static class RespParser
{
    /// <summary>Bulk strings longer than this are a protocol error (Redis' own limit is 512 MB).</summary>
    private const long MaxBulkLength = 512L * 1024 * 1024;

    private const int MaxDepth = 64;

    private static readonly byte[] s_ok = "OK"u8.ToArray();
    private static readonly byte[] s_pong = "PONG"u8.ToArray();
    private static readonly byte[] s_queued = "QUEUED"u8.ToArray();

    public static bool TryParse(ref SequenceReader<byte> reader, out RespValue value) => TryParse(ref reader, out value, 0);

    private static bool TryParse(ref SequenceReader<byte> reader, out RespValue value, int depth)
    {
        value = default;
        if (depth > MaxDepth)
        {
            throw new RedisProtocolException("The server sent replies nested more than 64 deep.");
        }

        if (!reader.TryRead(out var marker) || !reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8))
        {
            return false;
        }

        switch (marker)
        {
            case (byte)'+':
                value = RespValue.Simple(Intern(line));
                return true;
            case (byte)'-':
                value = RespValue.Error(line.ToArray());
                return true;
            case (byte)':':
                value = RespValue.Int(ParseInteger(line));
                return true;
            case (byte)'#':
                value = RespValue.Int(ParseBoolean(line) ? 1 : 0);
                return true;
            case (byte)',':
            case (byte)'(':
                value = RespValue.Bulk(line.ToArray()); // as ZSCORE and INCRBYFLOAT answer in RESP2
                return true;
            case (byte)'_':
                if (!line.IsEmpty)
                {
                    throw new RedisProtocolException("The server sent a RESP3 null with content.");
                }

                value = RespValue.Null;
                return true;
            case (byte)'$':
            case (byte)'=':
            case (byte)'!':
                {
                    var length = ParseInteger(line);
                    if (length < 0)
                    {
                        value = RespValue.Null;
                        return true;
                    }

                    if (length > MaxBulkLength)
                    {
                        throw new RedisProtocolException($"The server announced a bulk string of {length} bytes.");
                    }

                    if (reader.Remaining < length + 2)
                    {
                        return false;
                    }

                    if (marker == (byte)'=')
                    {
                        // A verbatim string starts with a three-letter format and a colon ("txt:", "mkd:"): not part of the text.
                        Span<byte> format = stackalloc byte[4];
                        if (length < 4 || !reader.TryCopyTo(format) || format[3] != (byte)':')
                        {
                            throw new RedisProtocolException("A RESP3 verbatim string did not start with its format (\"txt:\").");
                        }

                        reader.Advance(4);
                        length -= 4;
                    }

                    var bytes = GC.AllocateUninitializedArray<byte>((int)length);
                    reader.TryCopyTo(bytes);
                    reader.Advance(length);
                    if (!reader.IsNext("\r\n"u8, advancePast: true))
                    {
                        throw new RedisProtocolException("A bulk string was not followed by CRLF.");
                    }

                    value = marker == (byte)'!' ? RespValue.Error(bytes) : RespValue.Bulk(bytes);
                    return true;
                }

            case (byte)'*':
            case (byte)'~':
            case (byte)'>':
            case (byte)'%':
            case (byte)'|':
                {
                    var count = ParseInteger(line);
                    if (count < 0)
                    {
                        value = RespValue.Null;
                        return true;
                    }

                    if (marker is (byte)'%' or (byte)'|')
                    {
                        count *= 2;
                    }

                    if (count > reader.Remaining)
                    {
                        return false; // every item takes at least one byte
                    }

                    var items = count == 0 ? [] : new RespValue[count];
                    for (var i = 0; i < items.Length; i++)
                    {
                        if (!TryParse(ref reader, out items[i], depth + 1))
                        {
                            return false;
                        }
                    }

                    if (marker == (byte)'|')
                    {
                        // An attribute describes the reply that follows it; this client has no use for it.
                        return TryParse(ref reader, out value, depth + 1);
                    }

                    value = RespValue.Array(items, push: marker == (byte)'>');
                    return true;
                }

            default:
                throw new RedisProtocolException($"Unexpected RESP type marker 0x{marker:X2}; is this a Redis server?");
        }
    }

    private static bool ParseBoolean(in ReadOnlySequence<byte> line)
    {
        var reader = new SequenceReader<byte>(line);
        return line.Length == 1 && reader.TryRead(out var b) && b is (byte)'t' or (byte)'f'
            ? b == (byte)'t'
            : throw new RedisProtocolException("The server sent a malformed RESP3 boolean.");
    }

    private static long ParseInteger(in ReadOnlySequence<byte> line)
    {
        var span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
        if (Utf8Parser.TryParse(span, out long value, out var consumed) && consumed == span.Length)
        {
            return value;
        }

        throw new RedisProtocolException("The server sent a malformed integer.");
    }

    // The common simple replies share one array each instead of allocating per reply.
    private static byte[] Intern(in ReadOnlySequence<byte> line)
    {
        var span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
        return span.SequenceEqual(s_ok) ? s_ok
            : span.SequenceEqual(s_pong) ? s_pong
            : span.SequenceEqual(s_queued) ? s_queued
            : span.ToArray();
    }
}
