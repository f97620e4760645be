using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Sessions.Redis;

/// <summary>
/// Options for <see cref="RedisSessionBackend"/>, bound from <c>Sessions:Redis</c>. Where Redis is comes from one of, in
/// this order: an <see cref="IConnectionMultiplexer"/> handed to <c>AddRedisBackend(multiplexer)</c>,
/// <see cref="ConnectionMultiplexerFactory"/>, <see cref="Configuration"/>, or else the <see cref="IConnectionMultiplexer"/>
/// registered in DI (what Aspire's <c>builder.AddRedisClient("cache")</c> registers). Set at most one of them.
/// </summary>
public sealed class RedisSessionBackendOptions : IValidatableObject
{
    /// <summary>The longest <see cref="KeyPrefix"/> accepted.</summary>
    public const int MaxKeyPrefixLength = 64;

    /// <summary>Default <see cref="ConnectTimeout"/>: 1000 ms.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromMilliseconds(1000);

    /// <summary>Default <see cref="CommandTimeout"/>: 1000 ms.</summary>
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// A StackExchange.Redis configuration string (<c>"127.0.0.1:6379"</c>, <c>"redis1:6379,redis2:6379,password=s3cret"</c>);
    /// the backend opens its own multiplexer from it on first use and disposes it with the backend. Unless the string sets
    /// <c>connectTimeout</c>, <c>syncTimeout</c>, <c>asyncTimeout</c> or <c>abortConnect</c>, <see cref="ConnectTimeout"/>,
    /// <see cref="CommandTimeout"/> and <c>abortConnect=false</c> apply; always <c>BacklogPolicy.FailFast</c> and reconnects
    /// every 250 ms to 1000 ms. <see langword="null"/> (default) for <see cref="ConnectionMultiplexerFactory"/> or DI.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>Returns the multiplexer to use, called on first use (again after it threw). The application owns it: the
    /// backend never disposes it, and its own timeouts apply (StackExchange.Redis defaults to 5000 ms).</summary>
    public Func<Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>The database number, 0 or more; <see langword="null"/> (default) for the multiplexer's default database.
    /// Must be 0 or unset for a Redis Cluster.</summary>
    public int? Database { get; set; }

    /// <summary>Prepended to every key the core produces (which start with <c>SessionOptions.KeyPrefix</c>); default empty.
    /// Printable ASCII without spaces, at most <see cref="MaxKeyPrefixLength"/> characters; no <c>{hash tag}</c> on a cluster.</summary>
    [RegularExpression("^[!-~]{0,64}$", ErrorMessage = "RedisSessionBackendOptions.KeyPrefix (Sessions:Redis:KeyPrefix) must be empty or up to 64 printable ASCII characters without spaces.")]
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>How long one connection attempt may take; default 1000 ms, from 1 ms to 1 hour. Only for the multiplexer
    /// the backend opens from <see cref="Configuration"/>.</summary>
    public TimeSpan ConnectTimeout { get; set; } = DefaultConnectTimeout;

    /// <summary>How long a command may wait for its reply (checked on the library's 1000 ms heartbeat); default 1000 ms,
    /// from 1 ms to 1 hour. Only for the multiplexer the backend opens from <see cref="Configuration"/>.</summary>
    public TimeSpan CommandTimeout { get; set; } = DefaultCommandTimeout;

    /// <summary>A multiplexer handed to <c>AddRedisBackend(multiplexer)</c>; the application owns it.</summary>
    internal IConnectionMultiplexer? Multiplexer { get; set; }

    /// <inheritdoc />
    /// <remarks>The range checks are here rather than <c>[Range]</c> attributes, whose generated validator drops their
    /// <c>ErrorMessage</c> (dotnet/runtime#123137).</remarks>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (Database is < 0)
        {
            yield return new($"RedisSessionBackendOptions.Database (Sessions:Redis:Database) must be 0 or more, or unset for the multiplexer's default; got {Database}.");
        }

        foreach (var (name, value) in new[] { (nameof(ConnectTimeout), ConnectTimeout), (nameof(CommandTimeout), CommandTimeout) })
        {
            if (value < TimeSpan.FromMilliseconds(1) || value > TimeSpan.FromHours(1))
            {
                yield return new($"RedisSessionBackendOptions.{name} (Sessions:Redis:{name}) must be from 1 ms to 1 hour; got {value}.");
            }
        }

        if (ConfigurationError() is { } error)
        {
            yield return new($"RedisSessionBackendOptions.Configuration (Sessions:Redis:Configuration) is not a valid StackExchange.Redis configuration string: {error}");
        }
    }

    private string? ConfigurationError()
    {
        try
        {
            _ = string.IsNullOrWhiteSpace(Configuration) ? null : ConfigurationOptions.Parse(Configuration);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    /// <summary>The settings of a multiplexer the backend opens itself (see <see cref="Configuration"/>).</summary>
    internal ConfigurationOptions ToConfigurationOptions()
    {
        var text = Configuration!;
        var configuration = ConfigurationOptions.Parse(text);
        var sets = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(part => part.IndexOf('=', StringComparison.Ordinal) > 0)
            .Select(part => part[..part.IndexOf('=', StringComparison.Ordinal)].Trim())
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var commandMs = (int)Math.Ceiling(CommandTimeout.TotalMilliseconds);
        configuration.ConnectTimeout = sets.Contains("connectTimeout") ? configuration.ConnectTimeout : (int)Math.Ceiling(ConnectTimeout.TotalMilliseconds);
        configuration.SyncTimeout = sets.Contains("syncTimeout") ? configuration.SyncTimeout : commandMs;
        configuration.AsyncTimeout = sets.Contains("asyncTimeout") ? configuration.AsyncTimeout : commandMs;
        configuration.AbortOnConnectFail = sets.Contains("abortConnect") && configuration.AbortOnConnectFail;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 1000);
        return configuration;
    }
}

/// <summary>Validates <see cref="RedisSessionBackendOptions"/> (data annotations and the configuration string).</summary>
[OptionsValidator]
internal sealed partial class RedisSessionBackendOptionsValidator : IValidateOptions<RedisSessionBackendOptions>;
