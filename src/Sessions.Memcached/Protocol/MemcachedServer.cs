using System.Globalization;

namespace Sessions.Memcached.Protocol;

/// <summary>A server address from the <c>Servers</c> option: <c>host:port</c>, <c>[ipv6]:port</c>, or a host alone (port 11211).</summary>
internal sealed record MemcachedServer(string Host, int Port)
{
    public const int DefaultPort = 11211;

    /// <summary><c>host:port</c>; also the name the hash ring places the server by, so it must not change between app instances.</summary>
    public string Name => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>Parses a comma-separated list; <paramref name="error"/> says what is wrong when it returns <see langword="null"/>.</summary>
    public static IReadOnlyList<MemcachedServer>? TryParseList(string? servers, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(servers))
        {
            error = "Servers is empty; set it to \"host:port\" or \"host:port,host:port\" (for example \"127.0.0.1:11211\").";
            return null;
        }

        var list = new List<MemcachedServer>();
        foreach (var part in servers.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryParse(part) is not { } server)
            {
                error = $"Servers contains \"{part}\", which is not host:port (port 1-65535); write for example \"127.0.0.1:11211\" or \"[::1]:11211\".";
                return null;
            }

            if (list.Any(s => s.Name == server.Name))
            {
                error = $"Servers names {server.Name} twice; list each server once.";
                return null;
            }

            list.Add(server);
        }

        if (list.Count == 0)
        {
            error = "Servers lists no server; set it to \"host:port\" or \"host:port,host:port\".";
            return null;
        }

        return list;
    }

    private static MemcachedServer? TryParse(string text)
    {
        string host;
        string? port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }

            host = text[1..close];
            var rest = text[(close + 1)..];
            port = rest.Length == 0 ? null : rest.StartsWith(':') ? rest[1..] : "invalid";
        }
        else
        {
            var colon = text.LastIndexOf(':');
            host = colon < 0 ? text : text[..colon];
            port = colon < 0 ? null : text[(colon + 1)..];
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
        {
            return null;
        }

        if (port is null)
        {
            return new MemcachedServer(host, DefaultPort);
        }

        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and <= 65535
            ? new MemcachedServer(host, number)
            : null;
    }
}
