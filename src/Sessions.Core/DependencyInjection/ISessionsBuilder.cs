using Microsoft.Extensions.Configuration;
using Sessions.Backends;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Returned by <c>AddSessions(...)</c>; backend packages add their <c>Add&lt;Backend&gt;Backend(...)</c> extension methods to it.</summary>
public interface ISessionsBuilder
{
    /// <summary>The service collection sessions are registered in.</summary>
    IServiceCollection Services { get; }

    /// <summary>
    /// The configuration section given to <c>AddSessions(IConfiguration)</c> (usually <c>Sessions</c>), or
    /// <see langword="null"/> when sessions were added without one. Each backend binds its options from the child
    /// section named after it (<c>Sessions:Redis</c>, <c>Sessions:FileSystem</c>, ...); see
    /// <c>SessionsBuilderExtensions.AddBackendOptions</c>.
    /// </summary>
    IConfiguration? Configuration => null;

    /// <summary>
    /// Registers a backend under <paramref name="name"/>. An app may register several; the one in force is named by
    /// <c>Sessions:Backend</c> (<c>SessionOptions.Backend</c>), and when only one is registered it is used
    /// without that setting. Registering a name again replaces the earlier registration of that name.
    /// </summary>
    /// <param name="name">A short lowercase name for the backend (<c>memory</c>, <c>redis</c>, ...), used to select it and in metrics, traces, logs and health checks.</param>
    /// <param name="factory">Creates the backend once, from the application's services, if it is the one selected. The container disposes it.</param>
    /// <returns>This builder.</returns>
    ISessionsBuilder UseBackend(string name, Func<IServiceProvider, ISessionBackend> factory);
}
