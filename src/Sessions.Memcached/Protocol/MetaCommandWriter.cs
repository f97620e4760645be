using System.Text;

namespace Sessions.Memcached.Protocol;

/// <summary>Encodes a <see cref="MetaRequest"/>'s command line (everything up to and including the first CRLF) as ASCII.</summary>
internal static class MetaCommandWriter
{
    /// <summary>The longest command line this client writes: a 250-byte key and every flag with its largest number.</summary>
    public const int MaxLineLength = 512;

    /// <summary>Writes the command line into <paramref name="destination"/> (at least <see cref="MaxLineLength"/> bytes).</summary>
    /// <returns>The number of bytes written.</returns>
    public static int WriteLine(in MetaRequest request, Span<byte> destination)
    {
        var w = new LineWriter(destination);
        switch (request.Command)
        {
            case MetaCommand.Get:
                w.Ascii("mg ");
                w.Key(request.Key);
                if ((request.GetFlags & MetaGetFlags.Value) != 0)
                {
                    w.Ascii(" v");
                }

                if ((request.GetFlags & MetaGetFlags.Cas) != 0)
                {
                    w.Ascii(" c");
                }

                if (request.Ttl >= 0)
                {
                    w.Ascii(" T");
                    w.Number(request.Ttl);
                }

                break;
            case MetaCommand.Set:
                w.Ascii("ms ");
                w.Key(request.Key);
                w.Ascii(" ");
                w.Number(request.ValueLength);
                w.Ascii(" T");
                w.Number(Math.Max(0, request.Ttl));
                if (request.Cas != 0)
                {
                    w.Ascii(" C");
                    w.Number(request.Cas);
                }

                w.Ascii(request.Mode == MetaSetMode.Add ? " ME" : " MS");
                break;
            case MetaCommand.Delete:
                w.Ascii("md ");
                w.Key(request.Key);
                if (request.Cas != 0)
                {
                    w.Ascii(" C");
                    w.Number(request.Cas);
                }

                break;
            default:
                w.Ascii("mn");
                break;
        }

        w.Ascii("\r\n");
        return w.Written;
    }

    private ref struct LineWriter(Span<byte> destination)
    {
        private readonly Span<byte> _destination = destination;

        public int Written { get; private set; }

        public void Ascii(string text)
        {
            Written += Encoding.ASCII.GetBytes(text, _destination[Written..]);
        }

        public void Key(string key)
        {
            // The backend checks keys (SessionKeys.IsValid); this is the last line of defence against a key that would
            // split the command (a space or CRLF) and desynchronise the connection.
            if (key.Length is 0 or > 250 || key.AsSpan().ContainsAnyExceptInRange('!', '~'))
            {
                throw new ArgumentException($"A memcached key must be 1 to 250 printable ASCII characters without spaces; got {key.Length} characters.", nameof(key));
            }

            Ascii(key);
        }

        public void Number(long value)
        {
            value.TryFormat(_destination[Written..], out var written);
            Written += written;
        }

        public void Number(ulong value)
        {
            value.TryFormat(_destination[Written..], out var written);
            Written += written;
        }
    }
}
