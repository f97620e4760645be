using System.Buffers;
using System.Buffers.Text;

namespace Sessions.Redis.Protocol;

/// <summary>
/// Parses RESP2 replies, and the RESP3 types a server may send (null, boolean, double, big number, verbatim string, map,
/// set, push, attribute), from a possibly incomplete buffer. Returns <see langword="false"/> when the buffer ends inside
/// a reply; the caller then waits for more bytes and parses again from the same start.
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
                value = RespValue.Int(line.FirstSpan.Length > 0 && line.FirstSpan[0] == (byte)'t' ? 1 : 0);
                return true;
            case (byte)',':
            case (byte)'(':
                value = RespValue.Simple(line.ToArray());
                return true;
            case (byte)'_':
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

                    var bytes = GC.AllocateUninitializedArray<byte>((int)length);
                    reader.TryCopyTo(bytes);
                    reader.Advance(length);
                    if (!reader.IsNext("\r\n"u8, advancePast: true))
                    {
                        throw new RedisProtocolException("A bulk string was not followed by CRLF.");
                    }

                    if (marker == (byte)'=' && bytes.Length >= 4)
                    {
                        bytes = bytes[4..]; // verbatim string: drop the "txt:" format prefix
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
