using Sessions.Backends;
using StackExchange.Redis;

namespace Sessions.Redis;

/// <summary>
/// Options for <see cref="RedisSessionBackend"/>, bound from <c>Sessions:Redis</c>. Where Redis is comes from one of, in
/// this order: an <see cref="IConnectionMultiplexer"/> handed to <c>AddRedisBackend(multiplexer)</c>,
/// <see cref="ConnectionMultiplexerFactory"/>, <see cref="Configuration"/>, or else the <see cref="IConnectionMultiplexer"/>
/// registered in DI (what Aspire's <c>builder.AddRedisClient("cache")</c> registers). Set at most one of them.
/// </summary>
public sealed class RedisSessionBackendOptions
{
    /// <summary>The longest <see cref="KeyPrefix"/> accepted.</summary>
    public const int MaxKeyPrefixLength = 64;

    /// <summary>Default <see cref="ConnectTimeout"/>: 1000 ms.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromMilliseconds(1000);

    /// <summary>Default <see cref="CommandTimeout"/>: 1000 ms.</summary>
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// A StackExchange.Redis configuration string, e.g. <c>"127.0.0.1:6379"</c> or
    /// <c>"redis1:6379,redis2:6379,password=s3cret,ssl=true,user=app"</c> (the library's documented syntax: endpoints, then
    /// <c>key=value</c> options). The backend opens its own multiplexer from it, lazily on first use, and disposes it with
    /// the backend. For a Redis Cluster list one or more nodes; the rest are discovered. <see langword="null"/> (default) to
    /// use <see cref="ConnectionMultiplexerFactory"/> or an <see cref="IConnectionMultiplexer"/> from DI instead.
    /// </summary>
    /// <remarks>Unless the string sets its own <c>connectTimeout</c>, <c>syncTimeout</c>, <c>asyncTimeout</c> or
    /// <c>abortConnect</c>, the backend applies <see cref="ConnectTimeout"/>, <see cref="CommandTimeout"/> and
    /// <c>abortConnect=false</c>; it always uses <c>BacklogPolicy.FailFast</c> and reconnects every 250 ms to 1000 ms.
    /// So while Redis is down a session call fails at once, while it is frozen within about <see cref="CommandTimeout"/>,
    /// and calls succeed again as soon as it is back, without restarting the application.</remarks>
    public string? Configuration { get; set; }

    /// <summary>
    /// Creates (or returns) the multiplexer to use, called once on first use (again after it threw). The application owns
    /// what it returns: the backend never disposes it. Its own timeouts apply (StackExchange.Redis defaults to 5000 ms; set
    /// <c>asyncTimeout</c>, <c>connectTimeout</c> and <c>abortConnect=false</c> on it for fast failure).
    /// </summary>
    public Func<Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>The database number; <see langword="null"/> (default) for the multiplexer's default database
    /// (<c>defaultDatabase</c> in its configuration, else 0). Must be 0 or unset for a Redis Cluster.</summary>
    public int? Database { get; set; }

    /// <summary>
    /// Prepended to every key the core produces (which already start with <c>SessionOptions.KeyPrefix</c>, default
    /// <c>session:</c>). Useful to keep several applications apart on one server; default empty. Printable ASCII, at most
    /// <see cref="MaxKeyPrefixLength"/> characters. In a cluster, a <c>{hash tag}</c> here would put every session on one node.
    /// </summary>
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>
    /// How long one connection attempt may take (StackExchange.Redis <c>ConnectTimeout</c>); default 1000 ms, from 1 ms
    /// to 1 hour. Applies only to the multiplexer the backend opens from <see cref="Configuration"/>.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = DefaultConnectTimeout;

    /// <summary>
    /// How long a command may wait for its reply before it fails (StackExchange.Redis <c>AsyncTimeout</c> and
    /// <c>SyncTimeout</c>); default 1000 ms, from 1 ms to 1 hour. The library checks timeouts on its heartbeat (every
    /// 1000 ms by default), so a call to a frozen server fails after this plus up to one heartbeat. Applies only to the
    /// multiplexer the backend opens from <see cref="Configuration"/>.
    /// </summary>
    public TimeSpan CommandTimeout { get; set; } = DefaultCommandTimeout;

    /// <summary>A multiplexer handed to <c>AddRedisBackend(multiplexer)</c>; the application owns it.</summary>
    internal IConnectionMultiplexer? Multiplexer { get; set; }

    /// <summary>Checks the options and returns one message per problem; empty when they are valid.</summary>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        var sources = (Multiplexer is null ? 0 : 1) + (ConnectionMultiplexerFactory is null ? 0 : 1) + (string.IsNullOrWhiteSpace(Configuration) ? 0 : 1);
        if (sources > 1)
        {
            errors.Add(
                "RedisSessionBackendOptions sets more than one of: a multiplexer given to AddRedisBackend, ConnectionMultiplexerFactory, " +
                "Configuration (Sessions:Redis:Configuration). Keep one of them.");
        }

        if (Multiplexer is null && ConnectionMultiplexerFactory is null && !string.IsNullOrWhiteSpace(Configuration))
        {
            try
            {
                _ = ConfigurationOptions.Parse(Configuration);
            }
            catch (ArgumentException e)
            {
                errors.Add($"RedisSessionBackendOptions.Configuration (Sessions:Redis:Configuration) is not a valid StackExchange.Redis configuration string: {e.Message}");
            }
        }

        if (KeyPrefix is null || KeyPrefix.Length > MaxKeyPrefixLength || (KeyPrefix.Length > 0 && !SessionKeys.IsValid(KeyPrefix)))
        {
            errors.Add($"RedisSessionBackendOptions.KeyPrefix (Sessions:Redis:KeyPrefix) must be empty or up to {MaxKeyPrefixLength} printable ASCII characters without spaces; got \"{KeyPrefix}\".");
        }

        if (Database is < 0)
        {
            errors.Add($"RedisSessionBackendOptions.Database (Sessions:Redis:Database) must be 0 or more, or unset for the multiplexer's default; got {Database}.");
        }

        CheckTimeout(errors, ConnectTimeout, nameof(ConnectTimeout));
        CheckTimeout(errors, CommandTimeout, nameof(CommandTimeout));
        return errors;
    }

    private static void CheckTimeout(List<string> errors, TimeSpan value, string name)
    {
        if (value < TimeSpan.FromMilliseconds(1) || value > TimeSpan.FromHours(1))
        {
            errors.Add($"RedisSessionBackendOptions.{name} (Sessions:Redis:{name}) must be from 1 ms to 1 hour; got {value}.");
        }
    }
}
