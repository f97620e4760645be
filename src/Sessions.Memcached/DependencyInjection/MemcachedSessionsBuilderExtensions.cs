using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sessions.Memcached;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the memcached session backend.</summary>
public static class MemcachedSessionsBuilderExtensions
{
    /// <summary>Stores sessions in memcached (1.6 or later, meta protocol), on one server or a consistent-hashed pool.</summary>
    /// <param name="builder">The sessions builder from <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets the servers (<c>o.Servers = "host:port,host:port"</c>) and timeouts.</param>
    /// <returns>The builder.</returns>
    /// <remarks>The options are validated at start-up. The backend is named <c>memcached</c> in metrics, traces, logs and health checks.</remarks>
    public static ISessionsBuilder AddMemcachedBackend(this ISessionsBuilder builder, Action<MemcachedSessionBackendOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<MemcachedSessionBackendOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MemcachedSessionBackendOptions>, MemcachedSessionBackendOptionsValidator>());
        return builder.UseBackend(
            "memcached",
            sp => new MemcachedSessionBackend(sp.GetRequiredService<IOptions<MemcachedSessionBackendOptions>>().Value, sp.GetService<TimeProvider>()));
    }
}
