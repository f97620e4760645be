using System.Reflection;
using Microsoft.EntityFrameworkCore;

namespace Sessions.EFCore.Internal;

/// <summary>
/// Finds the <c>Use...</c> method of the provider that <see cref="EFCoreSessionBackendOptions.Provider"/> names, in the
/// provider package the app references, without Sessions.EFCore referencing any provider: the assembly is loaded by name
/// and the public extension method found by its name and first two parameters (the options builder and the connection string).
/// </summary>
internal static class ProviderLocator
{
    private sealed record Provider(string Package, string Assembly, string ExtensionsType, string Method);

    private static readonly Dictionary<EFCoreSessionDatabase, Provider> s_providers = new()
    {
        [EFCoreSessionDatabase.Sqlite] = new("Microsoft.EntityFrameworkCore.Sqlite", "Microsoft.EntityFrameworkCore.Sqlite", "Microsoft.EntityFrameworkCore.SqliteDbContextOptionsBuilderExtensions", "UseSqlite"),
        [EFCoreSessionDatabase.PostgreSQL] = new("Npgsql.EntityFrameworkCore.PostgreSQL", "Npgsql.EntityFrameworkCore.PostgreSQL", "Microsoft.EntityFrameworkCore.NpgsqlDbContextOptionsBuilderExtensions", "UseNpgsql"),
        [EFCoreSessionDatabase.MySql] = new("Pomelo.EntityFrameworkCore.MySql", "Pomelo.EntityFrameworkCore.MySql", "Microsoft.EntityFrameworkCore.MySqlDbContextOptionsBuilderExtensions", "UseMySql"),
        [EFCoreSessionDatabase.SqlServer] = new("Microsoft.EntityFrameworkCore.SqlServer", "Microsoft.EntityFrameworkCore.SqlServer", "Microsoft.EntityFrameworkCore.SqlServerDbContextOptionsExtensions", "UseSqlServer"),
    };

    /// <summary>The NuGet package that provides <paramref name="database"/>.</summary>
    public static string PackageOf(EFCoreSessionDatabase database) => s_providers[database].Package;

    /// <summary>
    /// A database delegate calling the provider's <c>Use...(connectionString)</c>; for MySQL, with the server version detected
    /// from the server (Pomelo's <c>ServerVersion.AutoDetect</c>) when the first context is configured.
    /// </summary>
    /// <exception cref="InvalidOperationException">The app does not reference the provider package; the message names it.</exception>
    public static Action<DbContextOptionsBuilder> Locate(EFCoreSessionDatabase database, string connectionString)
    {
        if (!s_providers.TryGetValue(database, out var provider))
        {
            throw new InvalidOperationException(
                $"Sessions:EFCore:Provider is {database}, which is not a database this backend can set up from configuration; use {string.Join(", ", s_providers.Keys)}, or pass a database delegate: AddEFCoreBackend(db => db.Use...(...)).");
        }

        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(provider.Assembly));
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new InvalidOperationException(
                $"Sessions:EFCore:Provider is {database}, but the app does not reference the EF Core provider for it: add the package " +
                $"(dotnet add package {provider.Package}), or set Sessions:EFCore:Provider to the database whose provider the app references.",
                ex);
        }

        var method = assembly.GetType(provider.ExtensionsType)?
            .GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.Name == provider.Method && !m.IsGenericMethod)
            .Where(m => m.GetParameters() is [var b, var c, ..] && b.ParameterType == typeof(DbContextOptionsBuilder) && c.ParameterType == typeof(string))
            .OrderBy(m => m.GetParameters().Length)
            .FirstOrDefault()
            ?? throw new InvalidOperationException(
                $"{provider.Package} is referenced, but its {provider.ExtensionsType}.{provider.Method}(DbContextOptionsBuilder, string, ...) was not found; " +
                "this version of the provider is not one Sessions.EFCore knows. Pass a database delegate instead: AddEFCoreBackend(db => db." + provider.Method + "(...)).");

        return builder =>
        {
            var parameters = method.GetParameters();
            var arguments = new object?[parameters.Length];
            arguments[0] = builder;
            arguments[1] = connectionString;
            for (var i = 2; i < parameters.Length; i++)
            {
                // Pomelo's UseMySql wants the server's version: ask the server, as ServerVersion.AutoDetect does.
                arguments[i] = parameters[i].ParameterType.Name == "ServerVersion"
                    ? DetectServerVersion(parameters[i].ParameterType, connectionString)
                    : parameters[i].HasDefaultValue ? parameters[i].DefaultValue : null;
            }

            try
            {
                method.Invoke(null, arguments);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            }
        };
    }

    private static object DetectServerVersion(Type serverVersion, string connectionString)
    {
        var detect = serverVersion.GetMethod("AutoDetect", BindingFlags.Public | BindingFlags.Static, [typeof(string)])
            ?? throw new InvalidOperationException($"{serverVersion.FullName}.AutoDetect(string) was not found; pass a database delegate: AddEFCoreBackend(db => db.UseMySql(cs, serverVersion)).");
        try
        {
            return detect.Invoke(null, [connectionString])!;
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw new InvalidOperationException(
                $"Sessions.EFCore could not ask the MySQL/MariaDB server for its version ({ex.InnerException.Message}); is it running and is Sessions:EFCore:ConnectionString right?",
                ex.InnerException);
        }
    }
}
