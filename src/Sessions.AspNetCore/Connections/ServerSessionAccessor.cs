using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;

namespace Sessions.AspNetCore;

/// <summary>
/// <see cref="IServerSessionAccessor"/>: the connection's session in a circuit or hub invocation, else the HTTP request's.
/// Scoped: in a circuit, one per circuit, holding the circuit's <see cref="SessionConnection"/>.
/// </summary>
internal sealed class ServerSessionAccessor(IHttpContextAccessor http) : IServerSessionAccessor
{
    /// <summary>The circuit's connection (set by <see cref="SessionCircuitHandler"/>, or at the first load).</summary>
    public SessionConnection? Connection { get; set; }

    public async ValueTask<IServerSession> LoadAsync(CancellationToken cancellationToken = default)
    {
        var connection = Connection ?? SessionConnection.Current;
        if (connection is null && http.HttpContext is { } context && context.GetEndpoint()?.Metadata.GetMetadata<HubMetadata>() is null)
        {
            // An HTTP request: a page, an endpoint, or a component prerendering. Its session can do everything. (The
            // long-running request of a hub connection is not one: outside its invocations there is no session.)
            var session = context.GetServerSession();
            await session.LoadAsync(cancellationToken).ConfigureAwait(false);
            return session;
        }

        if (connection is null)
        {
            throw new InvalidOperationException(
                "No browser session here: IServerSessionAccessor works in an HTTP request (behind UseSessions()), in a Blazor component rendered interactively on the server, "
                + "and in a SignalR hub method. Code that runs on its own (a background job, a timer outside a component) has no browser to take a session from; "
                + "use ISessionManager to reach sessions by user.");
        }

        Connection ??= connection;
        return new ConnectionSession(connection, await connection.LoadAndTouchAsync(cancellationToken).ConfigureAwait(false));
    }
}
