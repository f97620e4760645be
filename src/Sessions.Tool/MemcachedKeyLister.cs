using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Sessions.Memcached;

namespace Sessions.Tool;

/// <summary>
/// Lists the keys a memcached backend holds, for <c>list</c>, <c>stats</c> and <c>copy</c>: the memcached backend itself
/// cannot (it does not implement <c>ISessionKeyEnumerator</c>), but memcached 1.4.31 and later dump the keys of every
/// item with <c>lru_crawler metadump all</c> (memcached protocol.txt, "LRU_Crawler"): one line per item,
/// <c>key=&lt;URL-encoded key&gt; exp=&lt;unix time, -1 for none&gt; la=... cas=... fetch=... cls=... size=...</c>, then <c>END</c>.
/// The dump is a snapshot taken while the server runs: items written meanwhile may be missed (run the copy again).
/// </summary>
internal static class MemcachedKeyLister
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async IAsyncEnumerable<string> EnumerateKeysAsync(MemcachedSessionBackend backend, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var server in backend.Servers)
        {
            var colon = server.LastIndexOf(':');
            var host = colon > 0 ? server[..colon].Trim('[', ']') : server;
            var port = colon > 0 ? int.Parse(server[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture) : 11211;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            using var client = new TcpClient();
            await client.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync("lru_crawler metadump all\r\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            while (await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false) is { } line)
            {
                if (line == "END")
                {
                    break;
                }

                if (line.StartsWith("ERROR", StringComparison.Ordinal) || line.StartsWith("CLIENT_ERROR", StringComparison.Ordinal) || line.StartsWith("BUSY", StringComparison.Ordinal))
                {
                    throw new ToolException(ExitCodes.Unsupported, $"memcached at {server} refused 'lru_crawler metadump all' ({line}); the key listing needs memcached 1.4.31 or later with the LRU crawler enabled (the default).");
                }

                string? key = null;
                long exp = -1;
                foreach (var field in line.Split(' '))
                {
                    if (field.StartsWith("key=", StringComparison.Ordinal))
                    {
                        key = Uri.UnescapeDataString(field[4..]);
                    }
                    else if (field.StartsWith("exp=", StringComparison.Ordinal))
                    {
                        _ = long.TryParse(field[4..], System.Globalization.CultureInfo.InvariantCulture, out exp);
                    }
                }

                if (key is not null && key.StartsWith(prefix, StringComparison.Ordinal) && (exp < 0 || exp > now))
                {
                    yield return key;
                }
            }
        }
    }
}
