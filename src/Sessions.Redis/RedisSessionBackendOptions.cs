using System.Net.Security;
using Sessions.Backends;
using Sessions.Redis.Protocol;

namespace Sessions.Redis;

/// <summary>Options for <see cref="RedisSessionBackend"/>.</summary>
public sealed class RedisSessionBackendOptions
{
    /// <summary>The longest <see cref="KeyPrefix"/> accepted.</summary>
    public const int MaxKeyPrefixLength = 64;

    /// <summary>
    /// Where Redis is and how to connect (required, unless the backend is given a <see cref="RedisConnection"/>: then it
    /// must stay empty). Either a URL, <c>redis://[user:password@]host[:port][/database]</c>
    /// (<c>rediss://</c> for TLS), or a comma-separated list in the StackExchange.Redis style:
    /// <c>host:port[,host:port...][,password=...][,user=...][,ssl=true][,sslHost=...][,defaultDatabase=N][,connectTimeout=ms][,commandTimeout=ms][,name=...][,protocol=auto|resp2|resp3]</c>.
    /// For a Redis Cluster, list one or more of its nodes; the rest are discovered. Defaults: port 6379, database 0,
    /// 5000 ms connect and command timeouts, and <c>protocol=auto</c>: RESP3 where the server accepts <c>HELLO 3</c>, RESP2
    /// otherwise (URLs take the same options as a query: <c>redis://host:6379?protocol=resp2</c>).
    /// </summary>
    /// <example><c>"127.0.0.1:6379"</c>, <c>"redis.internal:6380,password=s3cret,ssl=true"</c>, <c>"rediss://app:s3cret@redis.internal:6380/2"</c>.</example>
    public string Configuration { get; set; } = string.Empty;

    /// <summary>
    /// Prepended to every key the core produces (which already start with <c>SessionOptions.KeyPrefix</c>, default
    /// <c>session:</c>). Useful to keep several applications apart on one server; default empty. Printable ASCII, at most
    /// <see cref="MaxKeyPrefixLength"/> characters. In a cluster, a <c>{hash tag}</c> here would put every session on one node.
    /// </summary>
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>The database number, overriding the one in <see cref="Configuration"/>; <see langword="null"/> (default) keeps it. Must be 0 for a cluster.</summary>
    public int? Database { get; set; }

    /// <summary>
    /// Decides whether the server's TLS certificate is trusted; <see langword="null"/> (default) uses the operating
    /// system's trust store and checks the host name. Set it for a private certificate authority or a pinned certificate.
    /// </summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>Checks the options and returns one message per problem; empty when they are valid.</summary>
    /// <param name="connection">The connection the backend is given, if any: then it, not these options, says where Redis is.</param>
    internal List<string> Validate(RedisConnection? connection = null)
    {
        var errors = new List<string>();
        if (connection is not null)
        {
            if (!string.IsNullOrEmpty(Configuration))
            {
                errors.Add($"RedisSessionBackendOptions.Configuration is set, but the backend uses the RedisConnection it was given ({connection}); leave Configuration empty, or register the backend without a connection.");
            }

            if (ServerCertificateValidation is not null)
            {
                errors.Add("RedisSessionBackendOptions.ServerCertificateValidation is set, but the backend uses the RedisConnection it was given; pass the callback to RedisConnection.Create instead.");
            }

            if (Database is { } database && database != connection.Database)
            {
                errors.Add($"RedisSessionBackendOptions.Database is {database}, but the RedisConnection it was given selects database {connection.Database}; leave Database unset, or put the database in the connection's configuration (defaultDatabase=N or redis://host/N).");
            }
        }
        else if (string.IsNullOrWhiteSpace(Configuration))
        {
            errors.Add("RedisSessionBackendOptions.Configuration must say where Redis is, e.g. \"127.0.0.1:6379\" or \"rediss://user:password@host:6380\" (set Sessions:Redis:Configuration).");
        }
        else
        {
            try
            {
                _ = RedisConfiguration.Parse(Configuration);
            }
            catch (FormatException e)
            {
                errors.Add($"RedisSessionBackendOptions.Configuration is invalid: {e.Message}");
            }
        }

        if (KeyPrefix is null || KeyPrefix.Length > MaxKeyPrefixLength || (KeyPrefix.Length > 0 && !SessionKeys.IsValid(KeyPrefix)))
        {
            errors.Add($"RedisSessionBackendOptions.KeyPrefix must be empty or up to {MaxKeyPrefixLength} printable ASCII characters without spaces; got \"{KeyPrefix}\".");
        }

        if (connection is null && Database is < 0)
        {
            errors.Add($"RedisSessionBackendOptions.Database must be 0 or more (or null to keep the configuration's); got {Database}.");
        }

        return errors;
    }
}
