using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sessions.FileSystem;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="FileSystemSessionBackend"/> as the session backend.</summary>
public static class FileSystemSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions as files under a directory (default <c>./.sessions</c>). Options are validated when the app starts.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="FileSystemSessionBackendOptions"/>; <see langword="null"/> for defaults.</param>
    /// <returns>The builder.</returns>
    /// <example><code>builder.Services.AddSessions().AddFileSystemBackend(o => o.Directory = "/var/lib/myapp/sessions");</code></example>
    public static ISessionsBuilder AddFileSystemBackend(this ISessionsBuilder builder, Action<FileSystemSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var options = builder.Services.AddOptions<FileSystemSessionBackendOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<FileSystemSessionBackendOptions>, FileSystemSessionBackendOptionsValidator>());

        return builder.UseBackend("filesystem", static services => new FileSystemSessionBackend(
            services.GetRequiredService<IOptions<FileSystemSessionBackendOptions>>().Value,
            services.GetService<TimeProvider>()));
    }
}
