using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sessions.Backends;
using Sessions.Engine;

namespace Sessions.Tool;

/// <summary>What every command needs to find the app's sessions: where its settings are and which backends to load.</summary>
internal sealed record HostSettings(string? ConfigPath, string? Environment, string SectionName, string? Backend, IReadOnlyList<string> BackendAssemblies);

/// <summary>
/// The app's session services, built the way the app builds them: <c>AddSessions(configuration.GetSection("Sessions"))</c>
/// with every first-party backend (and those of <c>--backend-assembly</c>) registered, so <c>Sessions:Backend</c> and
/// <c>Sessions:&lt;Backend&gt;</c> mean what they mean in the app.
/// </summary>
internal sealed class ToolHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<ISessionBackend> _created = [];

    private ToolHost(ServiceProvider services, IConfiguration configuration, string? configFile)
    {
        _services = services;
        Configuration = configuration;
        ConfigFile = configFile;
    }

    public IConfiguration Configuration { get; }

    public string? ConfigFile { get; }

    public IServiceProvider Services => _services;

    public SessionOptions Options => _services.GetRequiredService<IOptions<SessionOptions>>().Value;

    /// <summary>Builds the services. Configuration problems surface as <see cref="ToolException"/> with what to set.</summary>
    public static ToolHost Create(HostSettings settings)
    {
        var builder = new ConfigurationBuilder();
        string? configFile = null;
        if (settings.ConfigPath is { } given)
        {
            configFile = Path.GetFullPath(given);
            if (Directory.Exists(configFile))
            {
                configFile = Path.Combine(configFile, "appsettings.json");
            }

            if (!File.Exists(configFile))
            {
                throw new ToolException(ExitCodes.Configuration, $"The settings file {configFile} does not exist. Pass the app's appsettings.json with --config <path>.");
            }
        }
        else if (File.Exists(Path.Combine(System.Environment.CurrentDirectory, "appsettings.json")))
        {
            configFile = Path.Combine(System.Environment.CurrentDirectory, "appsettings.json");
        }

        var environment = settings.Environment
            ?? System.Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT")
            ?? System.Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT")
            ?? "Production";
        if (configFile is not null)
        {
            var directory = Path.GetDirectoryName(configFile)!;
            var environmentFile = Path.Combine(directory, Path.GetFileNameWithoutExtension(configFile) + "." + environment + ".json");
            try
            {
                builder.AddJsonFile(configFile, optional: false, reloadOnChange: false);
                builder.AddJsonFile(environmentFile, optional: true, reloadOnChange: false);
            }
            catch (Exception ex) when (ex is InvalidDataException or FormatException or IOException)
            {
                throw new ToolException(ExitCodes.Configuration, $"The settings file {configFile} cannot be read: {ex.Message}");
            }
        }

        builder.AddEnvironmentVariables();
        if (settings.Backend is { } backend)
        {
            builder.AddInMemoryCollection([new($"{settings.SectionName}:Backend", backend)]);
        }

        IConfiguration configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException)
        {
            throw new ToolException(ExitCodes.Configuration, $"The settings file {configFile} is not valid JSON: {ex.Message}");
        }

        var section = configuration.GetSection(settings.SectionName);
        if (!section.Exists())
        {
            throw new ToolException(
                ExitCodes.Configuration,
                configFile is null
                    ? $"No '{settings.SectionName}' settings found: there is no appsettings.json in the current directory and no {settings.SectionName}__* environment variables. Pass the app's settings with --config <path/to/appsettings.json>."
                    : $"{configFile} has no '{settings.SectionName}' section. Pass the settings file the app binds with AddSessions(...) (--config), or name its section with --section.");
        }

        var services = new ServiceCollection();
        services.AddLogging();
        var sessions = services.AddSessions(section)
            .AddFileSystemBackend()
            .AddRedisBackend()
            .AddMemcachedBackend()
            .AddEFCoreBackend()
            .AddDynamoDbBackend()
            .AddFirestoreBackend()
            .AddMongoBackend()
            .AddElasticsearchBackend();
        // The app's Data Protection key ring is set up in its code, not in its settings, so the tool has none: it reads
        // protected records as undecodable (handle, expiry, size only) instead of refusing to start (README, Commands).
        services.PostConfigure<SessionOptions>(o => o.ProtectPayloads = false);
        foreach (var path in settings.BackendAssemblies)
        {
            LoadBackendAssembly(sessions, path);
        }

        return new ToolHost(services.BuildServiceProvider(), configuration, configFile);
    }

    /// <summary>The registered backend names, in registration order.</summary>
    public IReadOnlyList<string> BackendNames => [.. _services.GetServices<SessionBackendRegistration>().Select(r => r.Name)];

    /// <summary>The engine over the backend in force (<c>Sessions:Backend</c>).</summary>
    public SessionStore Store => Resolve(() => _services.GetRequiredService<SessionStore>());

    /// <summary>The name of the backend in force.</summary>
    public string BackendName => Resolve(() => _services.GetRequiredService<SessionBackendSelection>().Name);

    /// <summary>The management API over the backend in force.</summary>
    public ISessionManager Manager => Resolve(() => _services.GetRequiredService<ISessionManager>());

    /// <summary>Creates a registered backend by name (for <c>copy</c>), validating its options.</summary>
    public ISessionBackend CreateBackend(string name)
    {
        var registration = _services.GetServices<SessionBackendRegistration>()
            .LastOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ToolException(ExitCodes.Configuration, $"No backend named '{name}' is registered. Known: {string.Join(", ", BackendNames)}. Third-party backends load with --backend-assembly <path.dll>.");
        var backend = Resolve(() => registration.Factory(_services));
        _created.Add(backend);
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var backend in _created)
        {
            switch (backend)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }

        await _services.DisposeAsync().ConfigureAwait(false);
    }

    private T Resolve<T>(Func<T> resolve)
    {
        try
        {
            return resolve();
        }
        catch (OptionsValidationException ex)
        {
            throw new ToolException(ExitCodes.Configuration, string.Join(" ", ex.Failures) + WhereFrom());
        }
        catch (InvalidOperationException ex)
        {
            throw new ToolException(ExitCodes.Configuration, ex.Message + WhereFrom());
        }
    }

    private string WhereFrom() => ConfigFile is null ? " (settings read from environment variables only)" : $" (settings read from {ConfigFile} and environment variables)";

    /// <summary>
    /// Loads a third-party backend package: every public static <c>Add…Backend(this ISessionsBuilder, …)</c> method whose other
    /// parameters are optional is called, the way an app chains it onto <c>AddSessions</c>; the backend then binds
    /// <c>Sessions:&lt;Name&gt;</c> like the first-party ones.
    /// </summary>
    private static void LoadBackendAssembly(ISessionsBuilder builder, string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ToolException(ExitCodes.Configuration, $"--backend-assembly {path}: no such file. Pass the backend package's DLL (for example bin/Release/net10.0/MyCompany.Sessions.Cassandra.dll, next to its dependencies).");
        }

        Assembly assembly;
        try
        {
            assembly = Assembly.LoadFrom(full);
        }
        catch (Exception ex) when (ex is BadImageFormatException or FileLoadException)
        {
            throw new ToolException(ExitCodes.Configuration, $"--backend-assembly {path} cannot be loaded: {ex.Message}");
        }

        var added = 0;
        foreach (var method in assembly.GetExportedTypes().Where(t => t.IsAbstract && t.IsSealed).SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static)))
        {
            var parameters = method.GetParameters();
            if (!method.Name.StartsWith("Add", StringComparison.Ordinal) || !method.Name.EndsWith("Backend", StringComparison.Ordinal)
                || method.IsGenericMethodDefinition || parameters.Length == 0 || parameters[0].ParameterType != typeof(ISessionsBuilder)
                || !parameters.Skip(1).All(p => p.IsOptional))
            {
                continue;
            }

            method.Invoke(null, [builder, .. parameters.Skip(1).Select(p => p.DefaultValue is DBNull ? null : p.DefaultValue)]);
            added++;
        }

        if (added == 0)
        {
            throw new ToolException(ExitCodes.Configuration, $"--backend-assembly {path} has no public static Add…Backend(this ISessionsBuilder, …) method whose other parameters are optional.");
        }
    }
}
