using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Sessions.Memcached.Tests.Support;

/// <summary>Plants random bytes under a key on the server that holds it, with memcached's text <c>set</c>, bypassing the backend.</summary>
internal static class UnreadableItems
{
    public static async ValueTask WriteAsync(string servers, string key, CancellationToken cancellationToken)
    {
        string server;
        await using (var locator = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = servers }))
        {
            server = locator.ServerFor(key);
        }

        var separator = server.LastIndexOf(':');
        using var client = new TcpClient();
        await client.ConnectAsync(server[..separator], int.Parse(server[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
        var stream = client.GetStream();
        var garbage = RandomNumberGenerator.GetBytes(300);
        garbage[0] = 0xEE; // never the record format's first byte
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"set {key} 0 3600 {garbage.Length}\r\n"), cancellationToken);
        await stream.WriteAsync(garbage, cancellationToken);
        await stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
        var reply = new byte[64];
        var read = await stream.ReadAsync(reply, cancellationToken);
        var text = Encoding.ASCII.GetString(reply, 0, read);
        if (!text.StartsWith("STORED", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"memcached at {server} answered the raw set with {text.Trim()}");
        }
    }
}
