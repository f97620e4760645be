using Sessions.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="RedisSessionBackend"/> as a session backend named <c>redis</c>.</summary>
public static class RedisSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions in Redis, a Redis Cluster or Garnet. Options bind from <c>Sessions:Redis</c>, then
    /// <paramref name="configure"/> runs; validated when the app starts, if this backend is the one in force. Where Redis is:
    /// <see cref="RedisSessionBackendOptions.ConnectionMultiplexerFactory"/>, else <see cref="RedisSessionBackendOptions.Configuration"/>,
    /// else the <see cref="IConnectionMultiplexer"/> registered in DI (Aspire's <c>AddRedisClient</c>), which is never disposed.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="RedisSessionBackendOptions"/>; <see langword="null"/> to use configuration or DI alone.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddRedisBackend(this ISessionsBuilder builder, Action<RedisSessionBackendOptions>? configure = null) =>
        builder.AddBackend<RedisSessionBackendOptions, RedisSessionBackendOptionsValidator>("redis", "Redis", configure, static (services, options) =>
            new RedisSessionBackend(options, services.GetService<TimeProvider>(), given: null, registered: services.GetService<IConnectionMultiplexer>()));

    /// <summary>Stores sessions through <paramref name="multiplexer"/>, which the application owns and may share: it is never
    /// disposed, and its own timeouts and backlog policy apply.</summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="multiplexer">The connection.</param>
    /// <param name="configure">Sets <see cref="RedisSessionBackendOptions.KeyPrefix"/> or <see cref="RedisSessionBackendOptions.Database"/>;
    /// leave <see cref="RedisSessionBackendOptions.Configuration"/> and <see cref="RedisSessionBackendOptions.ConnectionMultiplexerFactory"/> unset.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddRedisBackend(this ISessionsBuilder builder, IConnectionMultiplexer multiplexer, Action<RedisSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);

        // Captured in the options, not registered: a container disposes only what it creates, and never this.
        return builder.AddRedisBackend(o =>
        {
            configure?.Invoke(o);
            o.Multiplexer = multiplexer;
        });
    }
}
