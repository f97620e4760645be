using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Diagnostics;
using Sessions.Engine;
using Sessions.Ids;

namespace Sessions.AspNetCore;

/// <summary>
/// Gives each request its server-side session: reads and verifies the client's ID, loads the session before the endpoint
/// runs, and commits it (save, touch or delete, plus the cookie) before the response starts. Added by <c>app.UseSessions()</c>.
/// </summary>
public sealed class SessionMiddleware
{
    private readonly RequestDelegate _next;
    private readonly PathString[] _excluded;

    /// <summary>Creates the middleware.</summary>
    /// <param name="next">The rest of the pipeline.</param>
    /// <param name="store">The session engine.</param>
    /// <param name="resolver">The ID transport.</param>
    /// <param name="protector">Signs and verifies IDs.</param>
    /// <param name="idGenerator">Recognises well-formed IDs.</param>
    /// <param name="options">The session options.</param>
    /// <param name="logger">The logger.</param>
    public SessionMiddleware(
        RequestDelegate next,
        SessionStore store,
        ISessionIdResolver resolver,
        ISessionIdProtector protector,
        ISessionIdGenerator idGenerator,
        IOptions<SessionOptions> options,
        ILogger<SessionMiddleware> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _next = next ?? throw new ArgumentNullException(nameof(next));
        Store = store ?? throw new ArgumentNullException(nameof(store));
        Resolver = resolver ?? throw new ArgumentNullException(nameof(resolver));
        Protector = protector ?? throw new ArgumentNullException(nameof(protector));
        IdGenerator = idGenerator ?? throw new ArgumentNullException(nameof(idGenerator));
        Options = options.Value;
        Logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _excluded = [.. Options.ExcludedPaths.Select(p => new PathString(p.TrimEnd('/')))];
    }

    internal SessionStore Store { get; }

    internal ISessionIdResolver Resolver { get; }

    internal ISessionIdProtector Protector { get; }

    internal ISessionIdGenerator IdGenerator { get; }

    internal SessionOptions Options { get; }

    internal ILogger Logger { get; }

    /// <summary>Runs the middleware for one request.</summary>
    /// <param name="context">The request.</param>
    /// <returns>A task that completes when the request is done.</returns>
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (IsExcluded(context))
        {
            return _next(context);
        }

        var clientValue = Resolver.ReadId(context);
        string? id = null;
        if (clientValue is not null && Protector.TryUnprotect(clientValue, out var unprotected) && IdGenerator.IsWellFormed(unprotected))
        {
            id = unprotected;
        }

        var request = new SessionRequestContext(this, context, id is not null);
        context.Features.Set<ISessionFeature>(request);
        return id is null ? RunAsync(context, request) : LoadAndRunAsync(context, request, id);
    }

    private bool IsExcluded(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ISkipSessionMetadata>() is not null)
        {
            return true;
        }

        foreach (var prefix in _excluded)
        {
            if (context.Request.Path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private async Task LoadAndRunAsync(HttpContext context, SessionRequestContext request, string id)
    {
        SessionData? data;
        try
        {
            data = await Store.LoadAsync(id, context.RequestAborted).ConfigureAwait(false);
        }
        catch (SessionBackendException ex) when (Options.FailureMode == FailureMode.Continue)
        {
            Log.ContinuingWithoutSession(Logger, ex, Store.BackendName);
            request.SetLoaded(null, isAvailable: false);
            await RunAsync(context, request).ConfigureAwait(false);
            return;
        }
        catch (SessionBackendException ex)
        {
            Log.Unavailable(Logger, ex, Store.BackendName);
            await WriteErrorAsync(context, ex).ConfigureAwait(false);
            return;
        }

        request.SetLoaded(data, isAvailable: true);
        await RunAsync(context, request).ConfigureAwait(false);
    }

    private async Task RunAsync(HttpContext context, SessionRequestContext request)
    {
        try
        {
            await _next(context).ConfigureAwait(false);
            if (!context.Response.HasStarted && request.SessionIfCreated is not null)
            {
                await request.EnsureCommittedAsync().ConfigureAwait(false);
            }
        }
        catch (SessionException ex) when (ex is SessionBackendException or SessionConflictException && !context.Response.HasStarted)
        {
            if (ex is SessionBackendException)
            {
                Log.Unavailable(Logger, ex, Store.BackendName);
            }
            else
            {
                Log.ConflictResponse(Logger, ex);
            }

            request.Detach();
            await WriteErrorAsync(context, ex).ConfigureAwait(false);
        }
        finally
        {
            request.Detach();
        }
    }

    private async Task WriteErrorAsync(HttpContext context, SessionException ex)
    {
        var response = context.Response;
        response.Clear();
        response.Headers.CacheControl = "no-store";
        response.ContentType = "text/plain; charset=utf-8";
        string body;
        if (ex is SessionConflictException)
        {
            response.StatusCode = StatusCodes.Status409Conflict;
            body = "409 Conflict: this session was changed by another request at the same time and the changes could not be combined. Retry the request.\n";
        }
        else
        {
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            response.Headers.RetryAfter = "5";
            body = $"503 Service Unavailable: the session store ({Store.BackendName}) is not reachable, so this request was not processed and nothing was changed. Try again shortly.\n";
        }

        await response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
