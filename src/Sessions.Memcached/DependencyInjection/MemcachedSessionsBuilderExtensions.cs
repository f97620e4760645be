using Sessions.Memcached;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the memcached session backend, named <c>memcached</c>.</summary>
public static class MemcachedSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions in memcached (1.6 or later, meta protocol), on one server or a consistent-hashed pool. The options
    /// bind from <c>Sessions:Memcached</c> (for example <c>Sessions__Memcached__Servers = host1:11211,host2:11211</c>), then
    /// <paramref name="configure"/> runs; they are validated when the app starts with this backend selected.
    /// </summary>
    /// <param name="builder">The sessions builder from <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets the servers (<c>o.Servers = "host:port,host:port"</c>) and timeouts after binding; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddMemcachedBackend(this ISessionsBuilder builder, Action<MemcachedSessionBackendOptions>? configure = null) =>
        builder.AddBackend<MemcachedSessionBackendOptions, MemcachedSessionBackendOptionsValidator>("memcached", "Memcached", configure, static (services, options) =>
            new MemcachedSessionBackend(options, services.GetService<TimeProvider>()));
}
