using System.Globalization;

namespace Sessions.Redis.Protocol;

/// <summary>
/// Where and how to connect, parsed from a configuration string:
/// <c>redis://[user:password@]host[:port][/database]</c>, <c>rediss://...</c> (TLS), or the StackExchange.Redis style
/// <c>host:port[,host:port...],password=...,user=...,ssl=true,sslHost=...,defaultDatabase=N,connectTimeout=ms,commandTimeout=ms,protocol=resp3</c>.
/// </summary>
internal sealed record RedisConfiguration
{
    public const int DefaultPort = 6379;

    public IReadOnlyList<RedisEndpoint> Endpoints { get; init; } = [];

    public string? User { get; init; }

    public string? Password { get; init; }

    public int Database { get; init; }

    public bool Ssl { get; init; }

    /// <summary>The host name the server's TLS certificate must match; default: the endpoint's host.</summary>
    public string? SslHost { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Sent with <c>CLIENT SETNAME</c> so that the connections show up by name in <c>CLIENT LIST</c>.</summary>
    public string? ClientName { get; init; }

    /// <summary>The protocol to speak; <see langword="null"/> (default, <c>protocol=auto</c>): RESP3 where the server
    /// accepts <c>HELLO 3</c>, RESP2 otherwise.</summary>
    public RedisProtocol? Protocol { get; init; }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> with what is wrong and an example.</summary>
    public static RedisConfiguration Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new FormatException("The Redis configuration is empty; set it to \"host:port\" (e.g. \"127.0.0.1:6379\") or a redis:// URL.");
        }

        text = text.Trim();
        return text.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase)
            ? ParseUrl(text)
            : ParseOptions(text);
    }

    public override string ToString() => string.Join(",", Endpoints);

    private static RedisConfiguration ParseUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException($"\"{Redact(text)}\" is not a valid Redis URL; expected redis://[user:password@]host[:port][/database].");
        }

        string? user = null;
        string? password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                password = Uri.UnescapeDataString(uri.UserInfo); // redis://password@host, as redis-cli -u accepts
            }
            else
            {
                user = NullIfEmpty(Uri.UnescapeDataString(uri.UserInfo[..colon]));
                password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && !int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database))
        {
            throw new FormatException($"The database in \"{Redact(text)}\" must be a number, as in redis://host:6379/2.");
        }

        var host = uri.Host.Trim('[', ']');
        var config = new RedisConfiguration
        {
            Endpoints = [new RedisEndpoint(host, uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port)],
            User = user,
            Password = password,
            Database = database,
            Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase),
        };

        // Query options (?connectTimeout=...&commandTimeout=...) use the same names as the comma-separated form.
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            config = ApplyOption(config, eq < 0 ? pair : pair[..eq], eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]), text);
        }

        return config;
    }

    private static RedisConfiguration ParseOptions(string text)
    {
        var config = new RedisConfiguration();
        var endpoints = new List<RedisEndpoint>();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                endpoints.Add(RedisEndpoint.Parse(raw));
            }
            else
            {
                config = ApplyOption(config, raw[..eq].Trim(), raw[(eq + 1)..].Trim(), text);
            }
        }

        if (endpoints.Count == 0)
        {
            throw new FormatException($"\"{Redact(text)}\" names no server; start it with host:port, e.g. \"127.0.0.1:6379,password=...\".");
        }

        return config with { Endpoints = endpoints };
    }

    private static RedisConfiguration ApplyOption(RedisConfiguration config, string name, string value, string text) => name.ToLowerInvariant() switch
    {
        "password" => config with { Password = value },
        "user" or "username" => config with { User = NullIfEmpty(value) },
        "ssl" or "tls" => config with { Ssl = ParseBool(name, value, text) },
        "sslhost" => config with { SslHost = NullIfEmpty(value) },
        "defaultdatabase" or "database" or "db" => config with { Database = ParseInt(name, value, text) },
        "connecttimeout" => config with { ConnectTimeout = TimeSpan.FromMilliseconds(ParseInt(name, value, text)) },
        "commandtimeout" or "asynctimeout" or "synctimeout" => config with { CommandTimeout = TimeSpan.FromMilliseconds(ParseInt(name, value, text)) },
        "name" or "clientname" => config with { ClientName = NullIfEmpty(value) },
        "protocol" => config with { Protocol = ParseProtocol(name, value, text) },

        // Accepted for compatibility with StackExchange.Redis strings; this client always reconnects in the background.
        "abortconnect" or "allowadmin" or "keepalive" or "resolvedns" => config,
        _ => throw new FormatException(
            $"Unknown option \"{name}\" in the Redis configuration \"{Redact(text)}\". Known: password, user, ssl, sslHost, defaultDatabase, connectTimeout, commandTimeout, name, protocol."),
    };

    private static int ParseInt(string name, string value, string text) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var result) && result >= 0
            ? result
            : throw new FormatException($"The Redis option {name}={value} in \"{Redact(text)}\" must be a non-negative whole number.");

    private static bool ParseBool(string name, string value, string text) =>
        bool.TryParse(value, out var result)
            ? result
            : throw new FormatException($"The Redis option {name}={value} in \"{Redact(text)}\" must be true or false.");

    private static RedisProtocol? ParseProtocol(string name, string value, string text) => value.ToLowerInvariant() switch
    {
        "" or "auto" => null,
        "resp2" or "2" => RedisProtocol.Resp2,
        "resp3" or "3" => RedisProtocol.Resp3,
        _ => throw new FormatException($"The Redis option {name}={value} in \"{Redact(text)}\" must be auto, resp2 or resp3."),
    };

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    /// <summary>The configuration text with its password replaced, for messages.</summary>
    internal static string Redact(string text)
    {
        var result = System.Text.RegularExpressions.Regex.Replace(text, "(password=)[^,&]*", "$1***", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        return System.Text.RegularExpressions.Regex.Replace(result, "(rediss?://[^:/@]*:)[^@]*@", "$1***@", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
    }
}

/// <summary>A server address.</summary>
internal sealed record RedisEndpoint(string Host, int Port)
{
    public static RedisEndpoint Parse(string text)
    {
        // [::1]:6379, host:6379, host (default port)
        var colon = text.LastIndexOf(':');
        var closingBracket = text.LastIndexOf(']');
        if (colon < 0 || colon < closingBracket)
        {
            return new RedisEndpoint(text.Trim('[', ']'), RedisConfiguration.DefaultPort);
        }

        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new FormatException($"\"{text}\" is not host:port; the port must be a number from 1 to 65535.");
        }

        return new RedisEndpoint(text[..colon].Trim('[', ']'), port);
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
