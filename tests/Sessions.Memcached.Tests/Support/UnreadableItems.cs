using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Sessions.Memcached.Tests.Support;

/// <summary>Plants random bytes under a key on the server that holds it, with memcached's text <c>set</c>, bypassing the backend.</summary>
internal static class UnreadableItems
{
    public static async ValueTask WriteAsync(string servers, string key, CancellationToken cancellationToken)
    {
        var garbage = RandomNumberGenerator.GetBytes(300);
        garbage[0] = 0xEE; // never the record format's first byte
        await WriteRawAsync(servers, key, garbage, cancellationToken);
    }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> as it is, for an hour.</summary>
    public static async ValueTask WriteRawAsync(string servers, string key, byte[] value, CancellationToken cancellationToken)
    {
        var (server, client) = await ConnectAsync(servers, key, cancellationToken);
        using var connection = client;
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"set {key} 0 3600 {value.Length}\r\n"), cancellationToken);
        await stream.WriteAsync(value, cancellationToken);
        await stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
        var reply = new byte[64];
        var read = await stream.ReadAsync(reply, cancellationToken);
        var text = Encoding.ASCII.GetString(reply, 0, read);
        if (!text.StartsWith("STORED", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"memcached at {server} answered the raw set with {text.Trim()}");
        }
    }

    /// <summary>Reads the value under <paramref name="key"/> as it is, with memcached's text <c>get</c>.</summary>
    public static async ValueTask<byte[]> ReadRawAsync(string servers, string key, CancellationToken cancellationToken)
    {
        var (server, client) = await ConnectAsync(servers, key, cancellationToken);
        using var connection = client;
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"get {key}\r\n"), cancellationToken);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        while (!received.ToArray().AsSpan().EndsWith("END\r\n"u8))
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new InvalidOperationException($"memcached at {server} closed the connection during a raw get");
            }

            received.Write(buffer, 0, read);
        }

        var bytes = received.ToArray();
        var lineEnd = bytes.AsSpan().IndexOf("\r\n"u8);
        var length = int.Parse(Encoding.ASCII.GetString(bytes, 0, lineEnd).Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture);
        return bytes[(lineEnd + 2)..(lineEnd + 2 + length)];
    }

    /// <summary>A raw connection to the server that holds <paramref name="key"/>.</summary>
    private static async ValueTask<(string Server, TcpClient Client)> ConnectAsync(string servers, string key, CancellationToken cancellationToken)
    {
        string server;
        await using (var locator = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = servers }))
        {
            server = locator.ServerFor(key);
        }

        var separator = server.LastIndexOf(':');
        var client = new TcpClient();
        await client.ConnectAsync(server[..separator], int.Parse(server[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
        return (server, client);
    }
}
