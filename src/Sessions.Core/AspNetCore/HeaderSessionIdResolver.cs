using Microsoft.AspNetCore.Http;

namespace Sessions.AspNetCore;

/// <summary>
/// For APIs: the session ID travels in a request header (default <c>X-Session-Id</c>); a new or changed ID is returned in
/// the same response header, and an ended session is signalled by the header with an empty value.
/// </summary>
public sealed class HeaderSessionIdResolver : ISessionIdResolver
{
    /// <summary>The default header name.</summary>
    public const string DefaultHeaderName = "X-Session-Id";

    /// <summary>Creates the resolver.</summary>
    /// <param name="headerName">The header that carries the ID.</param>
    public HeaderSessionIdResolver(string headerName = DefaultHeaderName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(headerName);
        HeaderName = headerName;
    }

    /// <summary>The header that carries the ID.</summary>
    public string HeaderName { get; }

    /// <inheritdoc />
    public string? ReadId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
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
}
