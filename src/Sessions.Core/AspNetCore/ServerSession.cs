using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Sessions.Diagnostics;
using Sessions.Engine;

namespace Sessions.AspNetCore;

/// <summary>The <see cref="ISession"/> the middleware hands to a request, backed by a <see cref="SessionData"/>.</summary>
internal sealed class ServerSession : IServerSession
{
    private readonly SessionRequestContext _request;
    private readonly SessionException? _loadFailure;
    private SessionData? _data;
    private bool _droppedWriteLogged;

    public ServerSession(SessionRequestContext request, SessionData? loaded, bool isAvailable, SessionException? loadFailure = null)
    {
        _request = request;
        _data = loaded;
        IsAvailable = isAvailable && loadFailure is null;
        _loadFailure = loadFailure;
    }

    /// <summary>Whether the load failed and the failure is held until the request first uses the session.</summary>
    public bool LoadFailed => _loadFailure is not null;

    /// <summary>Whether any member was used; decides <c>Vary: Cookie</c>.</summary>
    public bool Accessed { get; private set; }

    /// <summary>Set once the session was committed for the response; later changes throw.</summary>
    public bool Frozen { get; set; }

    public bool IsAvailable { get; }

    public string Id => _loadFailure is null ? Data.Id : throw Unavailable();

    public IEnumerable<string> Keys => Read().Keys;

    public DateTimeOffset CreatedAt => Read().CreatedAt;

    public DateTimeOffset? ExpiresAt => Read().ExpiresAt;

    public bool IsNew => Read().IsNew;

    public bool IsPersistent
    {
        get => Read().IsPersistent;
        set
        {
            if (Write())
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
            if (Write())
            {
                Data.UserId = value;
                Data.ClientDescription = _request.HttpContext.Request.Headers.UserAgent.ToString();
            }
        }
    }

    /// <summary>The session data, created on first use for a request that had none.</summary>
    internal SessionData Data => _data ??= _request.Store.CreateNew();

    /// <summary>The data if this request ever needed it.</summary>
    internal SessionData? DataIfCreated => _data;

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
        if (Write())
        {
            Data.Remove(key);
        }
    }

    public void Clear()
    {
        if (Write())
        {
            Data.Clear();
        }
    }

    public void Regenerate()
    {
        if (Write())
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

    // The middleware loads the session before the endpoint runs, so there is nothing left to load; a held load failure surfaces here.
    public Task LoadAsync(CancellationToken cancellationToken = default)
    {
        if (_loadFailure is not null)
        {
            Accessed = true;
            return Task.FromException(Unavailable());
        }

        return Task.CompletedTask;
    }

    // Saves now; the middleware still commits again (and writes the cookie) before the response starts.
    public Task CommitAsync(CancellationToken cancellationToken = default) => _request.CommitAsync(cancellationToken, final: false);

    private SessionData Read()
    {
        Accessed = true;
        if (_loadFailure is not null)
        {
            throw Unavailable();
        }

        return Data;
    }

    private bool Write()
    {
        Accessed = true;
        if (_loadFailure is not null)
        {
            throw Unavailable();
        }

        if (Frozen)
        {
            throw new InvalidOperationException(
                "The session can no longer be changed: it was saved when the response started. Change the session before writing to the response body.");
        }

        if (!IsAvailable)
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

    // The load failed before the endpoint ran; the failure surfaces at the first use of the session, so that routes that
    // never use it are served during an outage. The middleware turns it into 503 (409 for a moved ID: a lost race).
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
