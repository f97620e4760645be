using Sessions.FileSystem;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="FileSystemSessionBackend"/> as a session backend, named <c>filesystem</c>.</summary>
public static class FileSystemSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions as files under a directory (default <c>./.sessions</c>). The options bind from
    /// <c>Sessions:FileSystem</c> (for example <c>Sessions__FileSystem__Directory</c>), then <paramref name="configure"/>
    /// runs; they are validated when the app starts with this backend selected.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="FileSystemSessionBackendOptions"/> after binding; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <example><code>builder.Services.AddSessions(builder.Configuration.GetSection("Sessions")).AddFileSystemBackend();</code></example>
    public static ISessionsBuilder AddFileSystemBackend(this ISessionsBuilder builder, Action<FileSystemSessionBackendOptions>? configure = null) =>
        builder.AddBackend<FileSystemSessionBackendOptions, FileSystemSessionBackendOptionsValidator>("filesystem", "FileSystem", configure, static (services, options) =>
            new FileSystemSessionBackend(options, services.GetService<TimeProvider>()));
}
