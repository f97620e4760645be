using Microsoft.Extensions.Options;
using Sessions.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="RedisSessionBackend"/> as a session backend named <c>redis</c>.</summary>
public static class RedisSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions in Redis, a Redis Cluster or Garnet. Options bind from <c>Sessions:Redis</c> (when sessions were
    /// added with a configuration section), then <paramref name="configure"/> runs. Where Redis is: a
    /// <see cref="RedisSessionBackendOptions.ConnectionMultiplexerFactory"/>, else a
    /// <see cref="RedisSessionBackendOptions.Configuration"/> string (the backend then owns and disposes its multiplexer),
    /// else the <see cref="IConnectionMultiplexer"/> registered in DI (for example by Aspire's <c>AddRedisClient</c>), which
    /// is shared and never disposed. Validated when the app starts, if this backend is the one in force.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="RedisSessionBackendOptions"/>; <see langword="null"/> to use configuration or DI alone.</param>
    /// <returns>The builder.</returns>
    /// <example><code>builder.Services.AddSessions().AddRedisBackend(o => o.Configuration = "127.0.0.1:6379");</code></example>
    public static ISessionsBuilder AddRedisBackend(this ISessionsBuilder builder, Action<RedisSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Register(builder, configure);
        return builder.UseBackend("redis", static services =>
        {
            var options = services.GetRequiredService<IOptions<RedisSessionBackendOptions>>().Value;
            var time = services.GetService<TimeProvider>();
            if (options.Multiplexer is null && options.ConnectionMultiplexerFactory is null && string.IsNullOrWhiteSpace(options.Configuration))
            {
                var shared = services.GetService<IConnectionMultiplexer>() ?? throw new InvalidOperationException(
                    "The Redis session backend does not know where Redis is: set Sessions:Redis:Configuration (e.g. \"127.0.0.1:6379\"), " +
                    "or RedisSessionBackendOptions.ConnectionMultiplexerFactory, or register an IConnectionMultiplexer (e.g. builder.AddRedisClient(\"cache\")).");
                return new RedisSessionBackend(shared, options, time);
            }

            return new RedisSessionBackend(options, time);
        });
    }

    /// <summary>
    /// Stores sessions through <paramref name="multiplexer"/>, which the application owns and may share with other code
    /// (an <c>IDistributedCache</c>, SignalR, Data Protection): neither the backend nor the container disposes it. Its own
    /// timeouts and backlog policy apply.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="multiplexer">The connection.</param>
    /// <param name="configure">Sets <see cref="RedisSessionBackendOptions.KeyPrefix"/> or <see cref="RedisSessionBackendOptions.Database"/>;
    /// leave <see cref="RedisSessionBackendOptions.Configuration"/> and <see cref="RedisSessionBackendOptions.ConnectionMultiplexerFactory"/> unset.</param>
    /// <returns>The builder.</returns>
    /// <example><code>
    /// var redis = await ConnectionMultiplexer.ConnectAsync("127.0.0.1:6379,abortConnect=false,asyncTimeout=1000");
    /// builder.Services.AddSessions().AddRedisBackend(redis, o => o.KeyPrefix = "app1:");
    /// </code></example>
    public static ISessionsBuilder AddRedisBackend(this ISessionsBuilder builder, IConnectionMultiplexer multiplexer, Action<RedisSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(multiplexer);

        // Captured in the options, not registered: a container disposes only what it creates, and never this.
        Register(builder, o =>
        {
            configure?.Invoke(o);
            o.Multiplexer = multiplexer;
        });
        return builder.UseBackend("redis", static services => new RedisSessionBackend(
            services.GetRequiredService<IOptions<RedisSessionBackendOptions>>().Value,
            services.GetService<TimeProvider>()));
    }

    private static void Register(ISessionsBuilder builder, Action<RedisSessionBackendOptions>? configure)
    {
        builder.AddBackendOptions("Redis", configure);
        if (!builder.Services.Any(d => d.ServiceType == typeof(IValidateOptions<RedisSessionBackendOptions>) && d.ImplementationInstance is RedisSessionBackendOptionsValidator))
        {
            builder.Services.AddSingleton<IValidateOptions<RedisSessionBackendOptions>>(new RedisSessionBackendOptionsValidator());
        }
    }
}

/// <summary>Validates <see cref="RedisSessionBackendOptions"/> when they are first read, with messages that say what to set.</summary>
internal sealed class RedisSessionBackendOptionsValidator : IValidateOptions<RedisSessionBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisSessionBackendOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
