using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Sessions.Diagnostics;

namespace Sessions.AspNetCore;

/// <summary>
/// One per Blazor circuit: gives the circuit the session its connection was opened with (before any component renders),
/// keeps that session alive while the browser is connected (<see cref="ConnectionSessionOptions.KeepAliveInterval"/>),
/// and reloads the page when the session ends if the app asked for it.
/// </summary>
internal sealed class SessionCircuitHandler(
    ServerSessionAccessor accessor,
    SessionConnectionFactory factory,
    NavigationManager navigation,
    IHttpContextAccessor http,
    TimeProvider time) : CircuitHandler, IDisposable
{
    private readonly Lock _sync = new();
    private ITimer? _keepAlive;
    private int _ticking;

    /// <summary>First of all circuit handlers, so that the session reaches the circuit before any other handler awaits.</summary>
    public override int Order => int.MinValue;

    public override Task OnCircuitOpenedAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        // The circuit's own copy: it outlives the connection it started on (a reconnect uses a new one) and ends on its own.
        // Blazor opens the circuit inside the hub invocation that starts it, where the hub filter made the connection
        // current; should another handler's await have moved this past that invocation, the connection's long-running
        // request (WebSockets, Server-Sent Events) still carries the cookie.
        if (accessor.Connection is null)
        {
            if (SessionConnection.Current is { } connection)
            {
                accessor.Connection = connection.Copy();
            }
            else if (http.HttpContext is { } context && context.GetEndpoint()?.Metadata.GetMetadata<HubMetadata>() is not null)
            {
                accessor.Connection = factory.Open(context);
            }
            else
            {
                Log.CircuitWithoutConnection(factory.Logger);
                accessor.Connection = factory.Open(null);
            }
        }

        if (accessor.Connection is { } own && factory.Options.EndConnectionWhenSessionEnds)
        {
            own.End = Reload;
        }

        return Task.CompletedTask;
    }

    public override Task OnConnectionUpAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        var interval = factory.KeepAliveInterval;
        if (interval > TimeSpan.Zero && accessor.Connection is not null)
        {
            lock (_sync)
            {
                _keepAlive ??= time.CreateTimer(static state => ((SessionCircuitHandler)state!).Tick(), this, interval, interval);
            }
        }

        return Task.CompletedTask;
    }

    public override Task OnConnectionDownAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        StopKeepAlive();
        return Task.CompletedTask;
    }

    public override Task OnCircuitClosedAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        StopKeepAlive();
        return Task.CompletedTask;
    }

    public void Dispose() => StopKeepAlive();

    private void StopKeepAlive()
    {
        lock (_sync)
        {
            _keepAlive?.Dispose();
            _keepAlive = null;
        }
    }

    private void Tick()
    {
        if (accessor.Connection is not { Ended: false } connection || Interlocked.Exchange(ref _ticking, 1) == 1)
        {
            return;
        }

        _ = TickAsync(connection);
    }

    private async Task TickAsync(SessionConnection connection)
    {
        try
        {
            await connection.LoadAndTouchAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (SessionException ex)
        {
            // An outage: the next tick tries again; the interval leaves room for missed ticks before the idle timeout.
            Log.CircuitKeepAliveFailed(factory.Logger, SessionMiddleware.DebugOnly(factory.Logger, ex), factory.Store.BackendName, ex.Message);
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    private void Reload()
    {
        StopKeepAlive();
        try
        {
            // A full reload ends this circuit; the new request carries the browser's current cookie.
            navigation.Refresh(forceReload: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            Log.CircuitReloadFailed(factory.Logger, ex);
        }
    }
}
