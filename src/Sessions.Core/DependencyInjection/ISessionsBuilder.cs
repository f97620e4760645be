using Sessions.Backends;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Returned by <c>AddSessions(...)</c>; backend packages add their <c>Add&lt;Backend&gt;Backend(...)</c> extension methods to it.</summary>
public interface ISessionsBuilder
{
    /// <summary>The service collection sessions are registered in.</summary>
    IServiceCollection Services { get; }

    /// <summary>Makes <paramref name="factory"/>'s backend the one sessions are stored in, replacing any chosen before.</summary>
    /// <param name="name">A short lowercase name for the backend (<c>memory</c>, <c>redis</c>, ...), used in metrics, traces, logs and health checks.</param>
    /// <param name="factory">Creates the backend once, from the application's services. The container disposes it.</param>
    /// <returns>This builder.</returns>
    ISessionsBuilder UseBackend(string name, Func<IServiceProvider, ISessionBackend> factory);
}
