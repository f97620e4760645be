using System.Diagnostics.CodeAnalysis;
using Sessions.Engine;

namespace Sessions.AspNetCore;

/// <summary>
/// A snapshot of a circuit's or hub connection's session, as <see cref="IServerSessionAccessor.LoadAsync"/> read it. Reads
/// come from the snapshot; <see cref="CommitAsync"/> saves its changes with the engine's rules. What needs a new cookie
/// throws, since a connection cannot send one.
/// </summary>
internal sealed class ConnectionSession : IServerSession
{
    private const string InRequest =
        "Do it in an HTTP request instead (a form post, an endpoint, or while the page prerenders), then reload the page or reconnect.";

    private readonly SessionConnection _connection;
    private readonly SessionData _data;
    private bool _stored;
    private bool _destroyed;
    private string? _handle;

    public ConnectionSession(SessionConnection connection, SessionData? data)
    {
        _connection = connection;
        _stored = data is not null;
        _data = data ?? connection.Store.CreateNew();
    }

    public bool IsAvailable => true;

    /// <summary>The session's handle (<see cref="ISessionManager"/>'s non-secret identifier); empty when there is no session.</summary>
    public string Id => _stored ? _handle ??= _connection.Store.HandleFor(_data.Id) : string.Empty;

    public IEnumerable<string> Keys => _data.Keys;

    public DateTimeOffset CreatedAt => _data.CreatedAt;

    public DateTimeOffset? ExpiresAt => _stored ? _data.ExpiresAt : null;

    public bool IsNew => !_stored;

    public bool IsPersistent
    {
        get => _data.IsPersistent;
        set
        {
            if (value != _data.IsPersistent)
            {
                throw NeedsCookie("change IsPersistent (it changes the cookie)");
            }
        }
    }

    public string? UserId
    {
        get => _data.UserId;
        set
        {
            if (!string.Equals(value, _data.UserId, StringComparison.Ordinal))
            {
                throw NeedsCookie("change UserId (sign-in takes a new session ID, sign-out ends the session and its cookie)");
            }
        }
    }

    public bool TryGetValue(string key, [NotNullWhen(true)] out byte[]? value) => _data.TryGetValue(key, out value);

    public void Set(string key, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ThrowIfNoSession();
        _data.Set(key, value);
    }

    public void Remove(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_data.TryGetValue(key, out _))
        {
            ThrowIfNoSession();
            _data.Remove(key);
        }
    }

    public void Clear()
    {
        if (!_data.IsEmpty)
        {
            ThrowIfNoSession();
            _data.Clear();
        }
    }

    public void Regenerate() => throw NeedsCookie("give the session a new ID (Regenerate())");

    /// <summary>Ends the session on the server at the next <see cref="CommitAsync"/>: the browser's cookie then names nothing.</summary>
    public void Destroy()
    {
        if (_stored && !_destroyed)
        {
            _destroyed = true;
            _data.Destroy();
        }
    }

    public Task LoadAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        if (!_stored)
        {
            return;
        }

        var hadChanges = _data.IsModified;
        var result = await _connection.Store.CommitAsync(_data, cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case SessionCommitOutcome.Deleted:
                _stored = false;
                _connection.OnEnded();
                break;
            case SessionCommitOutcome.Gone:
                _stored = false;
                _connection.OnEnded();
                if (hadChanges)
                {
                    throw new SessionConflictException(
                        "The session ended (sign-out, revocation, expiry) or got a new ID (sign-in in another tab) after this circuit or connection loaded it; "
                        + "its changes were dropped rather than used to bring the session back. Reload the page to use the browser's current session.");
                }

                break;
        }
    }

    private void ThrowIfNoSession()
    {
        if (_destroyed)
        {
            throw new ConnectionSessionRefusedException(
                "This session was destroyed, and a Blazor circuit or SignalR connection cannot start a new one: it cannot set the session cookie. "
                + "Start the session in an HTTP request (write to it while the page prerenders, in a form post or in an endpoint), then reload the page.");
        }

        if (!_stored)
        {
            throw new ConnectionSessionRefusedException(
                (_connection.Ended
                    ? "This session has ended (signed out, revoked, expired, or given a new ID by a sign-in in another tab), and a Blazor circuit or SignalR connection cannot start a new one: it cannot set the session cookie. "
                    : "The browser had no session when this Blazor circuit or SignalR connection opened, and a circuit or connection cannot start one: it cannot set the session cookie. ")
                + "Start the session in an HTTP request (write to it while the page prerenders, in a form post or in an endpoint), then reload the page.");
        }
    }

    private static ConnectionSessionRefusedException NeedsCookie(string what) => new(
        $"A Blazor circuit or SignalR connection cannot {what}: that needs a new session cookie, and a circuit or connection cannot set cookies. {InRequest}");
}

/// <summary>A change a circuit or hub connection cannot make (it needs a new cookie); the message says what to do instead.</summary>
internal sealed class ConnectionSessionRefusedException(string message) : InvalidOperationException(message);
