using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

namespace Sessions.Memcached.Protocol;

/// <summary>Reads meta replies off one socket: a status line, and for <c>VA</c> the value that follows it.</summary>
internal sealed class ReplyReader(Socket socket)
{
    private const int BufferSize = 16 * 1024;
    private readonly byte[] _buffer = new byte[BufferSize];
    private int _start;
    private int _end;

    /// <summary>Reads the next reply. Throws <see cref="IOException"/> when the server closes the connection or breaks the protocol.</summary>
    public async ValueTask<MetaReply> ReadAsync()
    {
        int newline;
        while ((newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n')) < 0)
        {
            await FillAsync().ConfigureAwait(false);
        }

        var lineLength = newline + 1;
        var reply = ParseLine(_buffer.AsSpan(_start, lineLength), out var valueLength);
        _start += lineLength;
        if (valueLength < 0)
        {
            return reply;
        }

        var value = GC.AllocateUninitializedArray<byte>(valueLength);
        var buffered = Math.Min(_end - _start, valueLength);
        _buffer.AsSpan(_start, buffered).CopyTo(value);
        _start += buffered;
        for (var filled = buffered; filled < valueLength;)
        {
            // Large values go straight from the socket into their own array, not through the line buffer.
            var read = await socket.ReceiveAsync(value.AsMemory(filled), SocketFlags.None).ConfigureAwait(false);
            if (read == 0)
            {
                throw Closed();
            }

            filled += read;
        }

        while (_end - _start < 2)
        {
            await FillAsync().ConfigureAwait(false);
        }

        if (_buffer[_start] != '\r' || _buffer[_start + 1] != '\n')
        {
            throw new IOException("memcached sent a value that does not end with CRLF; the connection is out of step and is closed.");
        }

        _start += 2;
        return reply with { Value = value };
    }

    /// <summary>Parses a status line (CRLF included). <paramref name="valueLength"/> is the length of the value that follows, or -1.</summary>
    internal static MetaReply ParseLine(ReadOnlySpan<byte> line, out int valueLength)
    {
        valueLength = -1;
        line = line.TrimEnd("\r\n"u8);
        if (line.StartsWith("SERVER_ERROR"u8))
        {
            return new MetaReply(MetaStatus.ServerError, null, 0, -1, 0, Encoding.ASCII.GetString(line));
        }

        if (line.StartsWith("CLIENT_ERROR"u8) || line.SequenceEqual("ERROR"u8))
        {
            return new MetaReply(MetaStatus.ClientError, null, 0, -1, 0, Encoding.ASCII.GetString(line));
        }

        if (line.Length < 2)
        {
            throw Unexpected(line);
        }

        var status = (line[0], line[1]) switch
        {
            ((byte)'V', (byte)'A') => MetaStatus.Value,
            ((byte)'H', (byte)'D') => MetaStatus.Success,
            ((byte)'E', (byte)'N') => MetaStatus.Miss,
            ((byte)'N', (byte)'S') => MetaStatus.NotStored,
            ((byte)'E', (byte)'X') => MetaStatus.Exists,
            ((byte)'N', (byte)'F') => MetaStatus.NotFound,
            ((byte)'M', (byte)'N') => MetaStatus.NoOp,
            _ => throw Unexpected(line),
        };

        ulong cas = 0;
        long ttl = -1;
        uint flags = 0;
        var rest = line[2..];
        var first = true;
        while (!rest.IsEmpty)
        {
            rest = rest.TrimStart((byte)' ');
            var end = rest.IndexOf((byte)' ');
            var token = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[end..];
            if (token.IsEmpty)
            {
                break;
            }

            if (first && status == MetaStatus.Value)
            {
                if (!Utf8Parser.TryParse(token, out valueLength, out var used) || used != token.Length || valueLength < 0)
                {
                    throw Unexpected(line);
                }
            }
            else
            {
                var number = token[1..];
                var ok = token[0] switch
                {
                    (byte)'c' => Utf8Parser.TryParse(number, out cas, out _),
                    (byte)'t' => Utf8Parser.TryParse(number, out ttl, out _),
                    (byte)'f' => Utf8Parser.TryParse(number, out flags, out _),
                    _ => true, // flags this client did not ask for (k, O, ...) are ignored
                };
                if (!ok)
                {
                    throw Unexpected(line);
                }
            }

            first = false;
        }

        if (status == MetaStatus.Value && valueLength < 0)
        {
            throw Unexpected(line);
        }

        return new MetaReply(status, null, cas, ttl, flags, null);
    }

    private async ValueTask FillAsync()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            throw new IOException($"memcached sent a reply line longer than {BufferSize} bytes; the connection is out of step and is closed.");
        }

        var read = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None).ConfigureAwait(false);
        if (read == 0)
        {
            throw Closed();
        }

        _end += read;
    }

    private static IOException Closed() => new("the server closed the connection");

    private static IOException Unexpected(ReadOnlySpan<byte> line)
    {
        var shown = Encoding.ASCII.GetString(line[..Math.Min(line.Length, 80)]);
        return new IOException($"memcached sent an unexpected reply line \"{shown}\"; the connection is out of step and is closed.");
    }
}
