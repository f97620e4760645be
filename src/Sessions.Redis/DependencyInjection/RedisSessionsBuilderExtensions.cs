using Microsoft.Extensions.Options;
using Sessions.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="RedisSessionBackend"/> as the session backend.</summary>
public static class RedisSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions in Redis, a Redis Cluster or Garnet. The options are validated when the app starts; the connection
    /// opens on first use and reopens by itself after an outage.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="RedisSessionBackendOptions"/>; at least <see cref="RedisSessionBackendOptions.Configuration"/>.</param>
    /// <returns>The builder.</returns>
    /// <example><code>builder.Services.AddSessions().AddRedisBackend(o => o.Configuration = "127.0.0.1:6379");</code></example>
    public static ISessionsBuilder AddRedisBackend(this ISessionsBuilder builder, Action<RedisSessionBackendOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);

        builder.Services.AddOptions<RedisSessionBackendOptions>().Configure(configure).ValidateOnStart();
        UseValidator(builder.Services, new RedisSessionBackendOptionsValidator());

        return builder.UseBackend("redis", static services => new RedisSessionBackend(
            services.GetRequiredService<IOptions<RedisSessionBackendOptions>>().Value,
            services.GetService<TimeProvider>()));
    }

    /// <summary>
    /// Stores sessions through a <see cref="RedisConnection"/> the application created and owns: the backend shares it (with
    /// other backends, too) and neither the backend nor the container disposes it; dispose it when the application ends.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="connection">The connection, from <see cref="RedisConnection.Create"/>.</param>
    /// <param name="configure">Sets <see cref="RedisSessionBackendOptions"/> such as <see cref="RedisSessionBackendOptions.KeyPrefix"/>;
    /// leave <see cref="RedisSessionBackendOptions.Configuration"/> empty (the connection says where Redis is).</param>
    /// <returns>The builder.</returns>
    /// <example><code>
    /// var redis = RedisConnection.Create("127.0.0.1:6379");
    /// builder.Services.AddSessions().AddRedisBackend(redis, o => o.KeyPrefix = "app1:");
    /// </code></example>
    public static ISessionsBuilder AddRedisBackend(this ISessionsBuilder builder, RedisConnection connection, Action<RedisSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connection);

        var options = builder.Services.AddOptions<RedisSessionBackendOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        UseValidator(builder.Services, new RedisSessionBackendOptionsValidator(connection));

        // The connection is captured, not registered: a container disposes only what it creates, and never this.
        return builder.UseBackend("redis", services => new RedisSessionBackend(
            connection,
            services.GetRequiredService<IOptions<RedisSessionBackendOptions>>().Value,
            services.GetService<TimeProvider>()));
    }

    /// <summary>Registers <paramref name="validator"/> in place of one an earlier <c>AddRedisBackend</c> registered: as with
    /// the backend itself, the last registration wins.</summary>
    private static void UseValidator(IServiceCollection services, RedisSessionBackendOptionsValidator validator)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(IValidateOptions<RedisSessionBackendOptions>) && services[i].ImplementationInstance is RedisSessionBackendOptionsValidator)
            {
                services.RemoveAt(i);
            }
        }

        services.AddSingleton<IValidateOptions<RedisSessionBackendOptions>>(validator);
    }
}

/// <summary>Validates <see cref="RedisSessionBackendOptions"/> at start-up, with messages that say what to set.</summary>
/// <param name="connection">The connection the backend is given, if any.</param>
internal sealed class RedisSessionBackendOptionsValidator(RedisConnection? connection = null) : IValidateOptions<RedisSessionBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisSessionBackendOptions options)
    {
        var errors = options.Validate(connection);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
