using Microsoft.EntityFrameworkCore;

namespace QuickStart;

/// <summary>
/// Picks the session backend named by <c>Sessions:Backend</c> (env <c>Sessions__Backend</c>). Each backend package adds one
/// case here and its name to <see cref="Names"/>; its options bind from <c>Sessions:&lt;Backend&gt;</c>.
/// </summary>
internal static class Backends
{
    public const string Default = "filesystem";

    public static readonly string[] Names = ["filesystem", "memory", "redis", "memcached", "sqlite", "postgres", "dynamodb"];

    /// <summary>Whether the configured backend keeps sessions in a SQL table that the app creates at start-up.</summary>
    public static bool UsesSqlTable(IConfigurationSection section) =>
        section["Backend"]?.Trim().ToLowerInvariant() is "sqlite" or "postgres";

    private static string RequiredConnectionString(IConfigurationSection section) =>
        section["EFCore:ConnectionString"] is { Length: > 0 } cs
            ? cs
            : throw new UnknownBackendException($"Sessions:Backend is \"{section["Backend"]}\", which needs Sessions:EFCore:ConnectionString (env Sessions__EFCore__ConnectionString).");

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

            // Sessions:Redis:Configuration, e.g. 127.0.0.1:6379 or redis://user:pass@host:6379/0.
            "redis" => sessions.AddRedisBackend(o => section.GetSection("Redis").Bind(o)),

            // Sessions:Memcached:Servers, e.g. 127.0.0.1:11211 or host1:11211,host2:11211.
            "memcached" => sessions.AddMemcachedBackend(o => section.GetSection("Memcached").Bind(o)),

            // Sessions:EFCore:ConnectionString, e.g. "Data Source=sessions.db" or "Host=127.0.0.1;Port=5432;Username=...".
            // Program.cs creates the table at start-up through the explicit helper (UsesSqlTable).
            "sqlite" => sessions.AddEFCoreBackend(db => db.UseSqlite(RequiredConnectionString(section)), o => section.GetSection("EFCore").Bind(o)),
            "postgres" => sessions.AddEFCoreBackend(db => db.UseNpgsql(RequiredConnectionString(section)), o => section.GetSection("EFCore").Bind(o)),

            // Sessions:DynamoDb:Table, :ServiceUrl (e.g. http://127.0.0.1:8000 for a local endpoint), :Region, :CreateTable.
            "dynamodb" => sessions.AddDynamoDbBackend(o => section.GetSection("DynamoDb").Bind(o)),
            _ => throw new UnknownBackendException(
                $"Sessions:Backend is \"{section["Backend"]}\", which is not a backend this app knows. " +
                $"Valid names: {string.Join(", ", Names)} (default {Default}). Set it in appsettings.json or with Sessions__Backend=<name>."),
        };
    }
}

/// <summary>Thrown at start-up when <c>Sessions:Backend</c> names no known backend.</summary>
internal sealed class UnknownBackendException(string message) : Exception(message);
