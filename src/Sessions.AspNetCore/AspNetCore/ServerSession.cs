using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Sessions.Diagnostics;
using Sessions.Engine;

namespace Sessions.AspNetCore;

/// <summary>
/// The <see cref="ISession"/> the middleware hands to a request, backed by a <see cref="SessionData"/>. A request that carries
/// a session ID has its session loaded on first use (or before the endpoint, for endpoints that used it before), so a route
/// that never touches the session costs no store call.
/// </summary>
internal sealed class ServerSession : IServerSession
{
    private readonly SessionRequestContext _request;
    private SessionException? _loadFailure;
    private SessionData? _data;
    private bool _resolved;
    private bool _available = true;
    private bool _droppedWriteLogged;
    private string? _handle;
    private string? _handleOf;

    public ServerSession(SessionRequestContext request) => _request = request;

    /// <summary>Whether any member was used; decides <c>Vary: Cookie</c>, touches, and whether the endpoint uses the session.</summary>
    public bool Accessed { get; private set; }

    /// <summary>How far the session can still change: all of it, only what needs no new cookie (the response started), or nothing.</summary>
    public SessionSeal Seal { get; set; }

    public bool IsAvailable
    {
        get
        {
            Accessed = true;
            Resolve();
            return _available;
        }
    }

    /// <summary>Whether the session can be saved (its load did not fail and the store was reachable); does not load it.</summary>
    internal bool CanCommit => _resolved && _available && _loadFailure is null;

    /// <summary>
    /// A stable, non-secret identifier of the session: its handle, as <see cref="Sessions.ISessionManager"/> uses it (a
    /// one-way hash of the storage key). It is not the session cookie and cannot be turned back into it, so it is safe to
    /// log. It changes when <see cref="Regenerate"/> gives the session a new ID.
    /// </summary>
    public string Id
    {
        get
        {
            var data = Read();
            var id = data.Id;
            if (!ReferenceEquals(id, _handleOf))
            {
                _handle = _request.Store.HandleFor(id);
                _handleOf = id;
            }

            return _handle!;
        }
    }

    public IEnumerable<string> Keys => Read().Keys;

    public DateTimeOffset CreatedAt => Read().CreatedAt;

    public DateTimeOffset? ExpiresAt => Read().ExpiresAt;

    public bool IsNew => Read().IsNew;

    public bool IsPersistent
    {
        get => Read().IsPersistent;
        set
        {
            if (Read().IsPersistent != value && Write(needsCookie: "a change of IsPersistent"))
            {
                Data.IsPersistent = value;
            }
        }
    }

    public string? UserId
    {
        get => Read().UserId;
        set
        {
            if (!string.Equals(Read().UserId, value, StringComparison.Ordinal) && Write())
            {
                Data.UserId = value;
                Data.ClientDescription = _request.HttpContext.Request.Headers.UserAgent.ToString();
            }
        }
    }

    /// <summary>The session data, created on first use for a request that had none.</summary>
    internal SessionData Data => _data ??= _request.Store.CreateNew();

    /// <summary>The data if this request ever used the session.</summary>
    internal SessionData? DataIfCreated => _resolved ? _data : null;

    public bool TryGetValue(string key, [NotNullWhen(true)] out byte[]? value) => Read().TryGetValue(key, out value);

    public void Set(string key, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (Write())
        {
            Data.Set(key, value);
        }
    }

    public void Remove(string key)
    {
        ArgumentNullException.ThrowIfNull(key);

        // Removing what is not there changes nothing, so it never throws (TempData saves an empty set this way).
        if (Read().TryGetValue(key, out _) && Write())
        {
            Data.Remove(key);
        }
    }

    public void Clear()
    {
        // After the response started, clearing an empty session changes nothing and does not throw; before, it still
        // counts (in Merge mode it also drops keys that a concurrent request adds).
        if ((Seal == SessionSeal.Open || !Read().IsEmpty) && Write())
        {
            Data.Clear();
        }
    }

    public void Regenerate()
    {
        if (Write(needsCookie: "Regenerate()"))
        {
            Data.Regenerate();
        }
    }

    public void Destroy()
    {
        if (Write())
        {
            Data.Destroy();
        }
    }

    /// <summary>Loads the session without blocking a thread; a held load failure surfaces here.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        Accessed = true;
        if (!_resolved)
        {
            await _request.LoadAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            Resolve();
        }

        if (_loadFailure is not null)
        {
            throw Unavailable();
        }
    }

    // Saves now; the middleware still commits again (and writes the cookie) before the response starts.
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        if (Accessed)
        {
            await LoadAsync(cancellationToken).ConfigureAwait(false);
            await _request.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes the load's outcome, waiting for the load (synchronously) when it is still running.</summary>
    private void Resolve()
    {
        if (_resolved)
        {
            return;
        }

        var outcome = _request.WaitForLoad();
        _data = outcome.Data;
        _available = outcome.IsAvailable;
        _loadFailure = outcome.Failure;
        _resolved = true;
    }

    private SessionData Read()
    {
        Accessed = true;
        Resolve();
        if (_loadFailure is not null)
        {
            throw Unavailable();
        }

        return Data;
    }

    // Whether a change can be applied: throws when the session is unusable or the change needs a cookie that can no longer
    // be sent; false (and one warning) when the store is unavailable and FailureMode.Continue drops writes.
    private bool Write(string? needsCookie = null)
    {
        var data = Read();
        switch (Seal)
        {
            case SessionSeal.Closed:
                throw new InvalidOperationException(
                    "The session can no longer be changed: its request has ended, or its save failed when the response started.");
            case SessionSeal.CookieSent when needsCookie is not null:
                throw new InvalidOperationException(
                    $"The session cannot take {needsCookie} after the response has started: it needs a new session cookie, which can no longer be sent. "
                    + "Do it before writing to the response body (for example in the endpoint, before returning its result).");
            case SessionSeal.CookieSent when data.StoredVersion is null:
                throw new InvalidOperationException(
                    "A new session cannot be started after the response has started: its session cookie can no longer be sent. "
                    + "Use the session before writing to the response body. (Changes to an existing session are still saved when the request ends.)");
        }

        if (!_available)
        {
            if (!_droppedWriteLogged)
            {
                _droppedWriteLogged = true;
                Log.WriteDropped(_request.Logger, _request.Store.BackendName);
            }

            return false;
        }

        return true;
    }

    // The load failed; the failure surfaces at the first use of the session, so that routes that never use it are served
    // during an outage. The middleware turns it into 503 (409 for a moved ID: a lost race).
    private SessionException Unavailable() => _loadFailure switch
    {
        SessionBackendException failure => new SessionBackendException($"The session could not be loaded: {failure.Message}", failure.InnerException)
        {
            Backend = failure.Backend,
            Operation = failure.Operation,
        },
        _ => new SessionConflictException(_loadFailure!.Message),
    };
}

/// <summary>How far a request's session can still change.</summary>
internal enum SessionSeal
{
    /// <summary>Before the response starts: any change.</summary>
    Open,

    /// <summary>
    /// The response has started (the session was committed with it): changes to an existing session that need no new cookie
    /// are saved when the request ends; a new session, <c>Regenerate()</c> and a persistence change throw.
    /// </summary>
    CookieSent,

    /// <summary>The request ended, or the commit at the response's start failed or was dropped: every change throws.</summary>
    Closed,
}
