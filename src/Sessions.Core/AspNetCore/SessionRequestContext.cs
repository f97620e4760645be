using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Sessions.Diagnostics;
using Sessions.Engine;

namespace Sessions.AspNetCore;

/// <summary>
/// One request's session plumbing, in one object: the <see cref="ISessionFeature"/> (session created on first use), and a
/// response-body wrapper that commits the session before the first byte of the response goes out, while the status and
/// headers can still change (so a backend outage becomes a clean 503, and the cookie can still be set).
/// </summary>
internal sealed class SessionRequestContext : ISessionFeature, IHttpResponseBodyFeature
{
    private readonly SessionMiddleware _middleware;
    private IHttpResponseBodyFeature? _innerBody;
    private ServerSession? _session;
    private CommitOnFlushPipeWriter? _writer;
    private CommitOnWriteStream? _stream;
    private Task? _commit;

    public SessionRequestContext(SessionMiddleware middleware, HttpContext httpContext, bool clientSentId)
    {
        _middleware = middleware;
        HttpContext = httpContext;
        ClientSentId = clientSentId;
    }

    public HttpContext HttpContext { get; }

    public SessionStore Store => _middleware.Store;

    public ILogger Logger => _middleware.Logger;

    /// <summary>Whether the request carried a (verified, well-formed) session ID.</summary>
    public bool ClientSentId { get; }

    /// <summary>The session if this request has one yet.</summary>
    public ServerSession? SessionIfCreated => _session;

    /// <summary>Whether the final commit ran (or is running).</summary>
    public bool Committed => _commit is not null;

    ISession ISessionFeature.Session
    {
        get => _session ??= HttpContext.Response.HasStarted
            ? new ServerSession(this, null, isAvailable: true) { Frozen = true } // too late to save: reads see an empty session, writes throw
            : Attach(new ServerSession(this, null, isAvailable: true));
        set => throw new NotSupportedException("The session is managed by UseSessions(); it cannot be replaced.");
    }

    Stream IHttpResponseBodyFeature.Stream => _stream ??= new CommitOnWriteStream(this, Inner.Stream);

    PipeWriter IHttpResponseBodyFeature.Writer => _writer ??= new CommitOnFlushPipeWriter(this, Inner.Writer);

    private IHttpResponseBodyFeature Inner => _innerBody!;

    /// <summary>Installs a loaded (or unavailable) session before the endpoint runs.</summary>
    public void SetLoaded(SessionData? data, bool isAvailable) => _session = Attach(new ServerSession(this, data, isAvailable));

    /// <summary>Commits for the response: at most once, before the response starts; later calls wait for the same commit.</summary>
    public Task EnsureCommittedAsync() => _commit ??= CommitForResponseAsync();

    /// <summary><see cref="ISession.CommitAsync"/>: saves now; the final commit still runs before the response starts.</summary>
    public async Task CommitAsync(CancellationToken cancellationToken, bool final)
    {
        if (_session?.DataIfCreated is not { } data || !_session.IsAvailable || Committed)
        {
            return;
        }

        var result = await Store.CommitAsync(data, cancellationToken).ConfigureAwait(false);
        Remember(result);
    }

    /// <summary>Restores the server's own body feature when the request ends.</summary>
    public void Detach()
    {
        if (_innerBody is not null)
        {
            HttpContext.Features.Set(_innerBody);
        }
    }

    public void DisableBuffering() => Inner.DisableBuffering();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await EnsureCommittedAsync().ConfigureAwait(false);
        await Inner.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await EnsureCommittedAsync().ConfigureAwait(false);
        await Inner.SendFileAsync(path, offset, count, cancellationToken).ConfigureAwait(false);
    }

    public async Task CompleteAsync()
    {
        await EnsureCommittedAsync().ConfigureAwait(false);
        await Inner.CompleteAsync().ConfigureAwait(false);
    }

    // Outcome of an explicit ISession.CommitAsync that the final commit must still reflect in the cookie.
    private SessionCommitOutcome? _earlierOutcome;

    private void Remember(SessionCommitResult result)
    {
        if (result.Outcome is SessionCommitOutcome.Created or SessionCommitOutcome.Deleted or SessionCommitOutcome.Gone)
        {
            _earlierOutcome = result.Outcome;
        }
    }

    private ServerSession Attach(ServerSession session)
    {
        if (_innerBody is null)
        {
            var features = HttpContext.Features;
            _innerBody = features.GetRequiredFeature<IHttpResponseBodyFeature>();
            features.Set<IHttpResponseBodyFeature>(this);
            HttpContext.Response.OnStarting(static state => ((SessionRequestContext)state).OnStartingAsync(), this);
        }

        return session;
    }

    // Fallback for a response started by a path the body wrapper does not see: commit while headers can still change.
    private async Task OnStartingAsync()
    {
        try
        {
            await EnsureCommittedAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SessionException)
        {
            // The status can still change here, but the body that is about to be written cannot be stopped.
            Log.CommitAfterStartFailed(Logger, ex);
            HttpContext.Response.StatusCode = ex is SessionConflictException ? StatusCodes.Status409Conflict : StatusCodes.Status503ServiceUnavailable;
        }
    }

    private async Task CommitForResponseAsync()
    {
        var session = _session;
        if (session is null)
        {
            return;
        }

        var response = HttpContext.Response;
        if (session.Accessed)
        {
            response.Headers.Append("Vary", "Cookie");
        }

        if (session.DataIfCreated is not { } data || !session.IsAvailable)
        {
            session.Frozen = true;
            return;
        }

        SessionCommitResult result;
        try
        {
            result = await Store.CommitAsync(data, HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (SessionBackendException ex) when (_middleware.Options.FailureMode == FailureMode.Continue)
        {
            Log.CommitDropped(Logger, ex, Store.BackendName);
            session.Frozen = true;
            return;
        }

        session.Frozen = true;
        var outcome = result.Outcome == SessionCommitOutcome.Unchanged && _earlierOutcome is { } earlier ? earlier : result.Outcome;
        switch (outcome)
        {
            case SessionCommitOutcome.Created:
            case SessionCommitOutcome.Saved:
            case SessionCommitOutcome.Touched when data.IsPersistent:
                var expires = data.IsPersistent ? result.ExpiresAt ?? data.ExpiresAt : null;
                _middleware.Resolver.WriteId(HttpContext, _middleware.Protector.Protect(data.Id), expires);
                if (outcome == SessionCommitOutcome.Created)
                {
                    PreventCaching(response);
                }

                break;
            case SessionCommitOutcome.Deleted:
            case SessionCommitOutcome.Gone:
                if (ClientSentId || _earlierOutcome == SessionCommitOutcome.Created)
                {
                    _middleware.Resolver.ClearId(HttpContext);
                }

                break;
        }
    }

    // A response that establishes a session carries a Set-Cookie that must not be cached and replayed to other users.
    private static void PreventCaching(HttpResponse response)
    {
        if (!response.Headers.ContainsKey("Cache-Control"))
        {
            response.Headers.CacheControl = "no-cache, no-store";
            response.Headers.Pragma = "no-cache";
        }
    }
}
