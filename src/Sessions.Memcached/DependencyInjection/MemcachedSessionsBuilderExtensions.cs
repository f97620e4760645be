using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sessions.Memcached;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the memcached session backend, named <c>memcached</c>.</summary>
public static class MemcachedSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions in memcached (1.6 or later, meta protocol), on one server or a consistent-hashed pool. The options
    /// bind from <c>Sessions:Memcached</c> (for example <c>Sessions:Memcached:Servers = host1:11211,host2:11211</c>,
    /// environment variable <c>Sessions__Memcached__Servers</c>) when sessions were added with
    /// <c>AddSessions(IConfiguration)</c>; then <paramref name="configure"/> runs.
    /// </summary>
    /// <param name="builder">The sessions builder from <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets the servers (<c>o.Servers = "host:port,host:port"</c>) and timeouts after binding; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <remarks>The options are validated when the app starts with this backend selected. The backend is named <c>memcached</c> in metrics, traces, logs and health checks.</remarks>
    public static ISessionsBuilder AddMemcachedBackend(this ISessionsBuilder builder, Action<MemcachedSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddBackendOptions("Memcached", configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MemcachedSessionBackendOptions>, MemcachedSessionBackendOptionsValidator>());
        return builder.UseBackend(
            "memcached",
            sp => new MemcachedSessionBackend(sp.GetRequiredService<IOptions<MemcachedSessionBackendOptions>>().Value, sp.GetService<TimeProvider>()));
    }
}
