using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Sessions.AspNetCore;

/// <summary>
/// The <see cref="IHttpResponseFeature"/> seen downstream of the session middleware: everything passes to the server's
/// feature, except that <c>OnStarting</c> callbacks registered downstream (MVC's TempData saves in one) are held, so that
/// the session's commit for the response can run them first and what they change is in the commit, as with ASP.NET Core's
/// session, which commits last.
/// </summary>
internal sealed class SessionResponseFeature : IHttpResponseFeature
{
    private List<(Func<object, Task> Callback, object State)>? _onStarting;
    private bool _onStartingFired;

    /// <summary>Puts itself in place of the request's response feature (until <see cref="Restore"/>).</summary>
    /// <param name="httpContext">The request.</param>
    public SessionResponseFeature(HttpContext httpContext)
    {
        Inner = httpContext.Features.GetRequiredFeature<IHttpResponseFeature>();
        httpContext.Features.Set<IHttpResponseFeature>(this);
    }

    /// <summary>The server's own response feature.</summary>
    public IHttpResponseFeature Inner { get; }

    public int StatusCode
    {
        get => Inner.StatusCode;
        set => Inner.StatusCode = value;
    }

    public string? ReasonPhrase
    {
        get => Inner.ReasonPhrase;
        set => Inner.ReasonPhrase = value;
    }

    public IHeaderDictionary Headers
    {
        get => Inner.Headers;
        set => Inner.Headers = value;
    }

    [Obsolete("Use IHttpResponseBodyFeature.Stream instead.")]
    public Stream Body
    {
        get => Inner.Body;
        set => Inner.Body = value;
    }

    public bool HasStarted => Inner.HasStarted;

    public void OnStarting(Func<object, Task> callback, object state)
    {
        if (_onStartingFired)
        {
            Inner.OnStarting(callback, state);
            return;
        }

        if (_onStarting is null)
        {
            _onStarting = [];

            // Runs them when the server starts the response, if no commit has run them before.
            Inner.OnStarting(static state => ((SessionResponseFeature)state).FireOnStartingAsync(), this);
        }

        _onStarting.Add((callback, state));
    }

    public void OnCompleted(Func<object, Task> callback, object state) => Inner.OnCompleted(callback, state);

    /// <summary>Runs the <c>OnStarting</c> callbacks registered downstream, last registered first, as a server does; once.</summary>
    public async Task FireOnStartingAsync()
    {
        _onStartingFired = true;
        while (_onStarting is { Count: > 0 } callbacks)
        {
            _onStarting = [];
            for (var i = callbacks.Count - 1; i >= 0; i--)
            {
                await callbacks[i].Callback(callbacks[i].State).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Puts the server's own response feature back.</summary>
    /// <param name="httpContext">The request.</param>
    public void Restore(HttpContext httpContext) => httpContext.Features.Set(Inner);
}
