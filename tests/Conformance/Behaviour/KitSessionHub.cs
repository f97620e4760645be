using System.Collections.Concurrent;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Sessions.AspNetCore;

namespace Sessions.Conformance;

/// <summary>
/// The kit's hub: each method uses the caller's session through <see cref="IServerSessionAccessor"/>, as an app's hub
/// would. <see cref="OpenCircuit"/> opens a circuit as Blazor's own hub does: a DI scope of its own whose circuit handlers
/// run inside a hub invocation; the test then uses that scope's accessor from outside any request or invocation, as a
/// circuit's components do.
/// </summary>
internal sealed class KitSessionHub(IServerSessionAccessor sessions, Gates gates, KitCircuits circuits) : Hub
{
    public const string Path = "/kit-hub";

    public async Task<string?> Get(string key) => (await sessions.LoadAsync(Context.ConnectionAborted)).GetString(key);

    public async Task Set(string key, string value)
    {
        var session = await sessions.LoadAsync(Context.ConnectionAborted);
        session.SetString(key, value);
        await session.CommitAsync(Context.ConnectionAborted);
    }

    public async Task<bool> IsNew() => (await sessions.LoadAsync(Context.ConnectionAborted)).IsNew;

    public async Task<string?> User() => (await sessions.LoadAsync(Context.ConnectionAborted)).UserId;

    public async Task SignIn(string user) => (await sessions.LoadAsync(Context.ConnectionAborted)).UserId = user;

    public async Task Regenerate() => (await sessions.LoadAsync(Context.ConnectionAborted)).Regenerate();

    /// <summary>Loads, waits at <paramref name="gate"/>, then sets and commits: a change racing whatever runs meanwhile.</summary>
    public async Task SetAfterGate(string gate, string key, string value)
    {
        var session = await sessions.LoadAsync(Context.ConnectionAborted);
        gates[gate].Enter();
        await gates[gate].Released.WaitAsync(Context.ConnectionAborted);
        session.SetString(key, value);
        await session.CommitAsync(Context.ConnectionAborted);
    }

    /// <summary>
    /// Starts work that outlives this invocation (not awaited), as a background job would: once the gate opens, after the
    /// invocation returned, it asks a fresh scope's accessor for the session. Its outcome is <see cref="KitCircuits.Background"/>.
    /// </summary>
    public void StartBackgroundLoad(string gate)
    {
        var scopes = Context.GetHttpContext()!.RequestServices.GetRequiredService<IServiceScopeFactory>();
        circuits.Background = Task.Run(async () =>
        {
            await gates[gate].Released;
            await using var scope = scopes.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<IServerSessionAccessor>().LoadAsync();
        });
    }

    /// <summary>Opens a circuit on this connection; returns its name for <see cref="KitCircuits"/>.</summary>
    public Task<string> OpenCircuit() => circuits.OpenAsync(Context.ConnectionAborted);
}

/// <summary>The circuits opened by <see cref="KitSessionHub.OpenCircuit"/>: their DI scopes, disposed with the app.</summary>
internal sealed class KitCircuits(IServiceScopeFactory scopes) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, KitCircuit> _circuits = new(StringComparer.Ordinal);

    public KitCircuit this[string name] => _circuits[name];

    /// <summary>The work <see cref="KitSessionHub.StartBackgroundLoad"/> started.</summary>
    public Task<IServerSession>? Background { get; set; }

    public async Task<string> OpenAsync(CancellationToken cancellationToken)
    {
        var circuit = new KitCircuit(scopes.CreateAsyncScope());
        await circuit.OpenAsync(cancellationToken);
        var name = Guid.NewGuid().ToString("N");
        _circuits[name] = circuit;
        return name;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var circuit in _circuits.Values)
        {
            await circuit.DisposeAsync();
        }
    }
}

/// <summary>One circuit's services: what its components inject, and its circuit handlers, run as Blazor runs them.</summary>
internal sealed class KitCircuit(AsyncServiceScope scope) : IAsyncDisposable
{
    // In Blazor's order: lower Order first.
    private readonly CircuitHandler[] _handlers = [.. scope.ServiceProvider.GetServices<CircuitHandler>().OrderBy(h => h.Order)];

    /// <summary>The accessor a component of this circuit injects.</summary>
    public IServerSessionAccessor Sessions => scope.ServiceProvider.GetRequiredService<IServerSessionAccessor>();

    // Blazor passes its Circuit; the sessions handler does not use it, and the kit cannot construct one (internal).
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        foreach (var handler in _handlers)
        {
            await handler.OnCircuitOpenedAsync(null!, cancellationToken);
        }

        await ConnectionUpAsync(cancellationToken);
    }

    /// <summary>The browser is connected (again).</summary>
    public async Task ConnectionUpAsync(CancellationToken cancellationToken)
    {
        foreach (var handler in _handlers)
        {
            await handler.OnConnectionUpAsync(null!, cancellationToken);
        }
    }

    /// <summary>The browser went away; the circuit waits for it (Blazor keeps it for a while).</summary>
    public async Task ConnectionDownAsync(CancellationToken cancellationToken)
    {
        foreach (var handler in _handlers)
        {
            await handler.OnConnectionDownAsync(null!, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var handler in _handlers)
        {
            await handler.OnCircuitClosedAsync(null!, CancellationToken.None);
        }

        await scope.DisposeAsync();
    }
}
