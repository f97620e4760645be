using Sessions.Engine;

namespace Sessions.AspNetCore;

/// <summary>
/// The session a long-lived connection was opened with: a Blazor circuit, or a SignalR hub connection. It keeps the
/// verified IDs that the connection's opening request carried (never shown to anyone), fixes the one that loads, and
/// notices when that session ends. Each load reads the store again.
/// </summary>
internal sealed class SessionConnection
{
    private static readonly AsyncLocal<Invocation?> CurrentInvocation = new();
    private readonly List<string>? _candidates;
    private readonly Lock _sync = new();
    private string? _id;
    private bool _ended;

    public SessionConnection(SessionStore store, List<string>? candidates)
    {
        Store = store;
        _candidates = candidates;
    }

    /// <summary>
    /// The connection of the hub invocation running on this async flow (set by <see cref="SessionHubFilter"/>), while that
    /// invocation runs: work it starts and does not await (<c>Task.Run</c>, a timer) finds none once it has returned.
    /// </summary>
    public static SessionConnection? Current => CurrentInvocation.Value?.Connection;

    /// <summary>Makes <paramref name="connection"/> current for this async flow until the returned scope is disposed.</summary>
    public static IDisposable Enter(SessionConnection? connection)
    {
        var invocation = new Invocation(connection);
        CurrentInvocation.Value = invocation;
        return invocation;
    }

    public SessionStore Store { get; }

    /// <summary>Whether the connection's session was seen live and then gone: it never comes back (IDs are not reused).</summary>
    public bool Ended
    {
        get
        {
            lock (_sync)
            {
                return _ended;
            }
        }
    }

    /// <summary>What ends the connection (<see cref="ConnectionSessionOptions.EndConnectionWhenSessionEnds"/>); <see langword="null"/> to keep it.</summary>
    public Action? End { get; set; }

    /// <summary>A connection for another owner (a circuit) with the same IDs: it ends on its own.</summary>
    public SessionConnection Copy() => new(Store, _candidates);

    /// <summary>Reads the session from the store; <see langword="null"/> when the connection has none (any more).</summary>
    /// <exception cref="SessionBackendException">The store failed.</exception>
    public async Task<SessionData?> LoadAsync(CancellationToken cancellationToken)
    {
        string? id;
        lock (_sync)
        {
            if (_ended || _candidates is null)
            {
                return null;
            }

            id = _id;
        }

        // The first load tries each ID the opening request carried, and the first that loads is the connection's session
        // from now on (as a request's load does); later loads read that one.
        string? moved = null;
        foreach (var candidate in id is null ? _candidates : [id])
        {
            var (data, wasMoved) = await Store.LoadOrMovedAsync(candidate, cancellationToken).ConfigureAwait(false);
            if (data is not null)
            {
                lock (_sync)
                {
                    _id ??= candidate;
                }

                return data;
            }

            moved ??= wasMoved ? candidate : null;
        }

        // Gone after it was live; or, at the first load, an ID that a sign-in had just replaced: the session lives on
        // under the new ID, which the connection must not follow (an old ID never leads to a new one). Either way it
        // ended for this connection.
        if (id is not null || moved is not null)
        {
            lock (_sync)
            {
                _id ??= moved;
            }

            OnEnded();
        }

        return null;
    }

    /// <summary>Loads the session and touches it when due, as a request that uses its session does.</summary>
    public async Task<SessionData?> LoadAndTouchAsync(CancellationToken cancellationToken)
    {
        var data = await LoadAsync(cancellationToken).ConfigureAwait(false);
        if (data is not null && (await Store.CommitAsync(data, cancellationToken).ConfigureAwait(false)).Outcome == SessionCommitOutcome.Gone)
        {
            OnEnded();
            return null;
        }

        return data;
    }

    /// <summary>The session was found gone after it was live: remembered, and the connection ended if the app asked for it.</summary>
    public void OnEnded()
    {
        lock (_sync)
        {
            if (_ended || _id is null)
            {
                return;
            }

            _ended = true;
        }

        End?.Invoke();
    }

    // One hub invocation's hold on its connection; the execution context copies the reference, so clearing it ends the
    // hold for every flow that captured it.
    private sealed class Invocation(SessionConnection? connection) : IDisposable
    {
        public SessionConnection? Connection { get; private set; } = connection;

        public void Dispose() => Connection = null;
    }
}
