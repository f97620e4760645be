using Microsoft.AspNetCore.Http;
using Sessions.Diagnostics;
using Sessions.Engine;

namespace Sessions.AspNetCore;

/// <summary>
/// Loading one request's session from the IDs it carries, at most once and without blocking: the first candidate ID that
/// loads wins. Never throws for a store failure or a moved ID: the outcome is kept and surfaces at the endpoint's first
/// use of the session.
/// </summary>
internal sealed class SessionLoad(SessionMiddleware middleware, HttpContext httpContext, List<string>? candidates)
{
    private Task? _load;
    private LoadOutcome _outcome = LoadOutcome.None;

    /// <summary>Whether the request carried a (verified, well-formed) session ID.</summary>
    public bool ClientSentId => candidates is not null;

    /// <summary>Whether the request's ID had just been moved to a new ID by another request (a sign-in): a lost race.</summary>
    public bool FoundMoved { get; private set; }

    /// <summary>Starts the load (once); completes when it is done.</summary>
    public Task LoadAsync() => _load ??= candidates is null ? Task.CompletedTask : LoadCandidatesAsync(candidates);

    /// <summary>
    /// The load's outcome for the session's first use, waiting for the load when it is still running. That wait blocks the
    /// thread (the <see cref="ISession"/> API is synchronous), so the endpoint is remembered as one that uses the session:
    /// its later requests load before it runs, asynchronously (<see cref="SessionMiddleware"/>).
    /// </summary>
    public LoadOutcome WaitForLoad()
    {
        var load = LoadAsync();
        if (!load.IsCompleted)
        {
            middleware.RememberUsesSession(httpContext);
        }

        load.GetAwaiter().GetResult();
        return _outcome;
    }

    private async Task LoadCandidatesAsync(List<string> ids)
    {
        var store = middleware.Store;
        SessionData? data = null;
        var moved = false;
        try
        {
            // Several values (same-named cookies from other paths or a parent domain): the first that loads wins.
            foreach (var id in ids)
            {
                (data, var wasMoved) = await store.LoadOrMovedAsync(id, httpContext.RequestAborted).ConfigureAwait(false);
                if (data is not null)
                {
                    break;
                }

                moved |= wasMoved;
            }
        }
        catch (SessionBackendException ex) when (middleware.Options.FailureMode == FailureMode.Continue)
        {
            Log.ContinuingWithoutSession(middleware.Logger, SessionMiddleware.DebugOnly(middleware.Logger, ex), store.BackendName);
            _outcome = new(null, IsAvailable: false, null);
            return;
        }
        catch (SessionBackendException ex)
        {
            // Held until the endpoint first uses the session (then 503): a route that never uses it is served normally.
            _outcome = new(null, IsAvailable: true, ex);
            return;
        }

        if (data is null && moved)
        {
            // The request was sent with an ID that another request (a sign-in) has just moved to a new ID: it lost a race
            // with that request. Starting a new session here would set a cookie that replaces the signed-in one, so the
            // request answers 409 at its first use of the session, and its response neither sets nor expires the cookie.
            FoundMoved = true;
            _outcome = new(null, IsAvailable: true, new SessionConflictException(
                "The session ID this request carries was replaced by another request (sign-in) just before this request was read; it is not used to start a new session, "
                + "whose cookie would replace the new one."));
            return;
        }

        _outcome = new(data, IsAvailable: true, null);
    }
}

/// <summary>What loading a request's session found: its data (<see langword="null"/> for none), whether the store was available, and a failure held for the first use.</summary>
internal readonly record struct LoadOutcome(SessionData? Data, bool IsAvailable, SessionException? Failure)
{
    /// <summary>No ID to load: a new session on first use.</summary>
    public static readonly LoadOutcome None = new(null, true, null);
}
