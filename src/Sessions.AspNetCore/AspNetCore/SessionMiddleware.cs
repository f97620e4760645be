using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Diagnostics;
using Sessions.Engine;
using Sessions.Ids;

namespace Sessions.AspNetCore;

/// <summary>
/// Gives each request its server-side session: reads and verifies the client's ID, loads the session when it is first used,
/// and commits it (save, touch or delete, plus the cookie) before the response starts; changes to an existing session made
/// after that (MVC's TempData) are saved when the request ends. Added by <c>app.UseSessions()</c>.
/// </summary>
/// <remarks>
/// A request that never uses its session costs no store call and never waits for the store, whatever the route (static
/// files and assets included). The <see cref="ISession"/> API is synchronous, so a first use that must wait for the store
/// blocks its thread once; the endpoint is then remembered, and its later requests load their session before it runs,
/// asynchronously. Calling <see cref="ISession.LoadAsync"/> first avoids even that one wait.
/// </remarks>
public sealed class SessionMiddleware
{
    private static readonly object Marker = new();
    private readonly RequestDelegate _next;
    private readonly PathString[] _excluded;

    // Endpoints seen to use the session: their requests load it before they run (asynchronously), instead of blocking on
    // their first use. Weak, so endpoints that a dynamic data source drops are not kept alive.
    private readonly ConditionalWeakTable<Endpoint, object> _usesSession = new();

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

        var candidates = ReadCandidates(context);
        var request = new SessionRequestContext(this, context, candidates);
        context.Features.Set<ISessionFeature>(request);
        return candidates is not null && context.GetEndpoint() is { } endpoint && _usesSession.TryGetValue(endpoint, out _)
            ? LoadAndRunAsync(context, request)
            : RunAsync(context, request);
    }

    /// <summary>Remembers the request's endpoint as one that uses the session, so that its later requests load it before it runs.</summary>
    internal void RememberUsesSession(HttpContext context)
    {
        if (context.GetEndpoint() is { } endpoint && !_usesSession.TryGetValue(endpoint, out _))
        {
            _usesSession.AddOrUpdate(endpoint, Marker);
        }
    }

    /// <summary>
    /// The error response's status for a failed commit: 409 for a conflict, 413 for a session over the size limit, 503 for
    /// an unreachable backend.
    /// </summary>
    internal static int StatusFor(SessionException ex) => ex switch
    {
        SessionConflictException or SessionLimitExceededException => StatusCodes.Status409Conflict,
        SessionPayloadTooLargeException => StatusCodes.Status413PayloadTooLarge,
        _ => StatusCodes.Status503ServiceUnavailable,
    };

    /// <summary>The exception to attach to a per-request log entry: only when Debug is on, so that stack traces do not flood the log.</summary>
    internal static Exception? DebugOnly(ILogger logger, Exception ex) => logger.IsEnabled(LogLevel.Debug) ? ex : null;

    // The verified, well-formed IDs the request carries, in order, without repeats; null when there is none.
    private List<string>? ReadCandidates(HttpContext context) => ReadIds(context, Resolver, Protector, IdGenerator);

    /// <summary>The verified, well-formed session IDs <paramref name="context"/> carries, in order, without repeats; <see langword="null"/> when there is none.</summary>
    internal static List<string>? ReadIds(HttpContext context, ISessionIdResolver resolver, ISessionIdProtector protector, ISessionIdGenerator idGenerator)
    {
        List<string>? ids = null;
        foreach (var value in resolver.ReadIds(context).Take(CookieSessionIdResolver.MaxIdCandidates))
        {
            if (protector.TryUnprotect(value, out var id) && idGenerator.IsWellFormed(id) && !(ids?.Contains(id) ?? false))
            {
                (ids ??= []).Add(id);
            }
        }

        return ids;
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

    private async Task LoadAndRunAsync(HttpContext context, SessionRequestContext request)
    {
        await request.LoadAsync().ConfigureAwait(false);
        await RunAsync(context, request).ConfigureAwait(false);
    }

    private async Task RunAsync(HttpContext context, SessionRequestContext request)
    {
        try
        {
            await _next(context).ConfigureAwait(false);
            if (request.SessionIfCreated is { } session)
            {
                if (session.Accessed)
                {
                    RememberUsesSession(context);
                }

                if (!context.Response.HasStarted)
                {
                    await request.EnsureCommittedAsync().ConfigureAwait(false);
                    request.HandOnHeldOutput();
                }
                else
                {
                    // Changes made after the response started (MVC's TempData saves after the result wrote its body).
                    await request.CommitLateChangesAsync().ConfigureAwait(false);
                }
            }
        }
        catch (SessionException ex) when (ex is SessionBackendException or SessionConflictException or SessionPayloadTooLargeException or SessionLimitExceededException && !context.Response.HasStarted)
        {
            request.DetachForError();
            var endpointRan = ReferenceEquals(ex, request.CommitFailure);
            LogFailure(ex, endpointRan, request.LostRace, request.Expired);
            await WriteErrorAsync(context, ex, endpointRan, request.LostRace, request.Expired).ConfigureAwait(false);
        }
        finally
        {
            request.Close();
            request.Detach();
        }
    }

    // One entry per failed request; the stack trace only at Debug. An outage itself is logged by the engine when it starts and ends.
    private void LogFailure(SessionException ex, bool endpointRan, bool lostRace, bool expired)
    {
        var exception = DebugOnly(Logger, ex);
        switch (ex)
        {
            case SessionPayloadTooLargeException tooLarge:
                Log.PayloadTooLarge(Logger, exception, tooLarge.PayloadBytes, tooLarge.MaxPayloadBytes);
                break;
            case SessionLimitExceededException limit:
                Log.CapRefusedResponse(Logger, exception, limit.MaxSessionsPerUser);
                break;
            case SessionConflictException when lostRace && expired:
                Log.ExpiredDuringRequest(Logger, exception);
                break;
            case SessionConflictException when lostRace:
                Log.LostRace(Logger, exception);
                break;
            case SessionConflictException:
                Log.ConflictResponse(Logger, exception, Options.ConcurrencyMode);
                break;
            case SessionBackendException when endpointRan:
                Log.CommitUnavailable(Logger, exception, Store.BackendName);
                break;
            default:
                Log.Unavailable(Logger, exception, Store.BackendName);
                break;
        }
    }

    private static bool TimedOut(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is Polly.Timeout.TimeoutRejectedException)
            {
                return true;
            }
        }

        return false;
    }

    private async Task WriteErrorAsync(HttpContext context, SessionException ex, bool endpointRan, bool lostRace, bool expired)
    {
        var response = context.Response;
        response.Clear();
        response.Headers.CacheControl = "no-store";
        response.ContentType = "text/plain; charset=utf-8";
        response.StatusCode = StatusFor(ex);

        // A client must not be told that a request had no effect when its endpoint ran: only the session changes were lost.
        const string Ran = "this request was processed, but its changes to the session were not saved";
        string body;
        switch (ex)
        {
            case SessionPayloadTooLargeException tooLarge:
                body = $"413 Content Too Large: {Ran}: the session would take {tooLarge.PayloadBytes} bytes, over the limit of {tooLarge.MaxPayloadBytes} bytes.\n";
                break;
            case SessionLimitExceededException limit:
                body = $"409 Conflict: {Ran}: the user already has {limit.MaxSessionsPerUser} sessions, the most allowed, so this session was not signed in. Sign out on another device, then sign in again.\n";
                break;
            case SessionConflictException when lostRace && !endpointRan:
                body = "409 Conflict: this request was sent with a session ID that another request had just replaced (sign-in), so it was not processed and nothing was changed. Reload, then retry if needed.\n";
                break;
            case SessionConflictException when lostRace && expired:
                body = $"409 Conflict: {Ran}: the session expired while this request ran (its idle or absolute timeout passed). Sign in or start again.\n";
                break;
            case SessionConflictException when lostRace:
                body = $"409 Conflict: {Ran}: the session was ended (sign-out, revocation) or given a new ID (sign-in) by another request or by the application while this request ran. Reload, then retry if needed.\n";
                break;
            case SessionConflictException:
                body = $"409 Conflict: {Ran}: another request changed this session at the same time and the changes could not be combined. Retry the request.\n";
                break;
            case not null when endpointRan && TimedOut(ex):
                // A write that timed out was sent: the store may still apply it (docs/concurrency.md, "Commit failures").
                response.Headers.RetryAfter = "5";
                body = $"503 Service Unavailable: this request was processed, but the session store ({Store.BackendName}) did not confirm its changes to the session in time: they may or may not have been saved. Check before retrying.\n";
                break;
            default:
                response.Headers.RetryAfter = "5";
                body = endpointRan
                    ? $"503 Service Unavailable: {Ran}: the session store ({Store.BackendName}) is not reachable. Try again shortly.\n"
                    : $"503 Service Unavailable: the session store ({Store.BackendName}) is not reachable, so this request could not use its session, and the session was not changed. Try again shortly.\n";
                break;
        }

        await response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
