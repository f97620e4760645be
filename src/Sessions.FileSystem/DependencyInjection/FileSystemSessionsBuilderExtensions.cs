using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sessions.FileSystem;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="FileSystemSessionBackend"/> as a session backend, named <c>filesystem</c>.</summary>
public static class FileSystemSessionsBuilderExtensions
{
    /// <summary>
    /// Stores sessions as files under a directory (default <c>./.sessions</c>). The options bind from
    /// <c>Sessions:FileSystem</c> (for example <c>Sessions:FileSystem:Directory</c>, environment variable
    /// <c>Sessions__FileSystem__Directory</c>) when sessions were added with <c>AddSessions(IConfiguration)</c>; then
    /// <paramref name="configure"/> runs. They are validated when the app starts with this backend selected.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="FileSystemSessionBackendOptions"/> after binding; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <example><code>builder.Services.AddSessions(builder.Configuration.GetSection("Sessions")).AddFileSystemBackend();</code></example>
    public static ISessionsBuilder AddFileSystemBackend(this ISessionsBuilder builder, Action<FileSystemSessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.AddBackendOptions("FileSystem", configure);
        builder.Services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<FileSystemSessionBackendOptions>, FileSystemSessionBackendOptionsValidator>());

        return builder.UseBackend("filesystem", static services =>
        {
            var options = services.GetRequiredService<IOptions<FileSystemSessionBackendOptions>>().Value;
            try
            {
                return new FileSystemSessionBackend(options, services.GetService<TimeProvider>());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException(
                    $"Sessions:FileSystem:Directory is \"{options.Directory}\", which cannot hold sessions: {ex.Message} Set it to a directory this app may create and write.",
                    ex);
            }
        });
    }
}
