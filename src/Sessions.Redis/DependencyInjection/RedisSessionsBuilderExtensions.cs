using Microsoft.Extensions.DependencyInjection.Extensions;
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
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisSessionBackendOptions>, RedisSessionBackendOptionsValidator>());

        return builder.UseBackend("redis", static services => new RedisSessionBackend(
            services.GetRequiredService<IOptions<RedisSessionBackendOptions>>().Value,
            services.GetService<TimeProvider>()));
    }
}

/// <summary>Validates <see cref="RedisSessionBackendOptions"/> at start-up, with messages that say what to set.</summary>
internal sealed class RedisSessionBackendOptionsValidator : IValidateOptions<RedisSessionBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisSessionBackendOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
