using Microsoft.AspNetCore.Http;

namespace Sessions.AspNetCore;

/// <summary>
/// For APIs: the session ID travels in a request header (default <c>X-Session-Id</c>); a new or changed ID is returned in
/// the same response header, and an ended session is signalled by the header with an empty value. A response that used the
/// session (the core marks it <c>Vary: Cookie</c>) also gets <c>Vary: X-Session-Id</c> (the header's name), so that caches
/// keep one client's answer from another's.
/// </summary>
public sealed class HeaderSessionIdResolver : ISessionIdResolver
{
    /// <summary>The default header name.</summary>
    public const string DefaultHeaderName = "X-Session-Id";

    // Cached, so that a request costs no delegate allocation; the state passed with it is the HttpContext.
    private readonly Func<object, Task> _addVary;

    /// <summary>Creates the resolver.</summary>
    /// <param name="headerName">The header that carries the ID.</param>
    public HeaderSessionIdResolver(string headerName = DefaultHeaderName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(headerName);
        HeaderName = headerName;
        _addVary = AddVary;
    }

    /// <summary>The header that carries the ID.</summary>
    public string HeaderName { get; }

    /// <inheritdoc />
    public string? ReadId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.OnStarting(_addVary, context);
        var values = context.Request.Headers[HeaderName];
        return values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
    }

    /// <inheritdoc />
    public void WriteId(HttpContext context, string value, DateTimeOffset? expires)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Headers[HeaderName] = value;
    }

    /// <inheritdoc />
    public void ClearId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Headers[HeaderName] = string.Empty;
    }

    // Runs as the response starts, after the session's own OnStarting work (callbacks run newest first, and this one is
    // registered before the session is loaded): the core has then marked a response that used the session with Vary: Cookie.
    private Task AddVary(object state)
    {
        var headers = ((HttpContext)state).Response.Headers;
        var vary = headers.Vary;
        var variesOnSession = false;
        foreach (var value in vary)
        {
            foreach (var token in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries))
            {
                if (string.Equals(token, HeaderName, StringComparison.OrdinalIgnoreCase))
                {
                    return Task.CompletedTask;
                }

                variesOnSession |= string.Equals(token, "Cookie", StringComparison.OrdinalIgnoreCase);
            }
        }

        if (variesOnSession)
        {
            headers.Append("Vary", HeaderName);
        }

        return Task.CompletedTask;
    }
}
