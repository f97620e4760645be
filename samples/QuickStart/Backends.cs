namespace QuickStart;

/// <summary>
/// Picks the session backend named by <c>Sessions:Backend</c> (env <c>Sessions__Backend</c>). Each backend package adds one
/// case here and its name to <see cref="Names"/>; its options bind from <c>Sessions:&lt;Backend&gt;</c>.
/// </summary>
internal static class Backends
{
    public const string Default = "filesystem";

    public static readonly string[] Names = ["filesystem", "memory"];

    /// <summary>Registers the configured backend.</summary>
    /// <exception cref="UnknownBackendException">The name is not one of <see cref="Names"/>.</exception>
    public static ISessionsBuilder AddConfiguredBackend(this ISessionsBuilder sessions, IConfigurationSection section)
    {
        var name = section["Backend"]?.Trim().ToLowerInvariant() is { Length: > 0 } configured ? configured : Default;
        return name switch
        {
            // Sessions:FileSystem:Directory, default ./.sessions (relative to the current directory).
            "filesystem" => sessions.AddFileSystemBackend(o => section.GetSection("FileSystem").Bind(o)),
            "memory" => sessions.AddMemoryBackend(o => section.GetSection("Memory").Bind(o)),
            _ => throw new UnknownBackendException(
                $"Sessions:Backend is \"{section["Backend"]}\", which is not a backend this app knows. " +
                $"Valid names: {string.Join(", ", Names)} (default {Default}). Set it in appsettings.json or with Sessions__Backend=<name>."),
        };
    }
}

/// <summary>Thrown at start-up when <c>Sessions:Backend</c> names no known backend.</summary>
internal sealed class UnknownBackendException(string message) : Exception(message);
