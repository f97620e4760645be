using Microsoft.AspNetCore.SignalR;

namespace Sessions.AspNetCore;

/// <summary>
/// Gives every hub connection (Blazor's own included) the session its opening request carried: taken once, when the
/// connection starts, and made current for each of its invocations, where <see cref="IServerSessionAccessor"/> finds it.
/// </summary>
internal sealed class SessionHubFilter(SessionConnectionFactory factory) : IHubFilter
{
    private static readonly object Key = typeof(SessionConnection);

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        using (SessionConnection.Enter(ConnectionOf(invocationContext.Context)))
        {
            try
            {
                return await next(invocationContext).ConfigureAwait(false);
            }
            catch (ConnectionSessionRefusedException ex)
            {
                // What the caller must do differently: safe to send, and useless if the client only saw "an unexpected error".
                throw new HubException(ex.Message, ex);
            }
            catch (SessionConflictException ex)
            {
                throw new HubException(ex.Message, ex);
            }
            catch (SessionBackendException ex)
            {
                // The store's address and error stay in the server's log; the client learns what happened and that it may retry.
                throw new HubException("The session store is not reachable right now; the session was not changed. Try again shortly.", ex);
            }
        }
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        using (SessionConnection.Enter(ConnectionOf(context.Context)))
        {
            await next(context).ConfigureAwait(false);
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        using (SessionConnection.Enter(ConnectionOf(context.Context)))
        {
            await next(context, exception).ConfigureAwait(false);
        }
    }

    private SessionConnection? ConnectionOf(HubCallerContext context)
    {
        if (context.Items.TryGetValue(Key, out var found))
        {
            return (SessionConnection?)found;
        }

        // First seen (the connection's start): the IDs its opening request carried. A connection without an HTTP request
        // (a test's in-memory connection) has no browser, so no session.
        var connection = context.GetHttpContext() is { } http ? factory.Open(http) : null;
        if (connection is not null && factory.Options.EndConnectionWhenSessionEnds)
        {
            connection.End = context.Abort;
        }

        context.Items[Key] = connection;
        return connection;
    }
}
