using Microsoft.AspNetCore.Http;

namespace Sessions.AspNetCore;

/// <summary>Carries the session ID between client and server: reads it from a request and writes or clears it on the response.</summary>
/// <remarks>The values are the client-facing (possibly signed) form; the middleware signs and verifies them.</remarks>
public interface ISessionIdResolver
{
    /// <summary>Reads the client-supplied value, or <see langword="null"/> when the request carries none.</summary>
    /// <param name="context">The request.</param>
    /// <returns>The value as sent.</returns>
    string? ReadId(HttpContext context);

    /// <summary>
    /// Reads every value the request carries, in the order sent: a browser sends several cookies of one name when they
    /// were set for different paths or for a parent domain, in an order the app does not control. The middleware uses the
    /// first value that verifies and loads, and considers at most <see cref="CookieSessionIdResolver.MaxIdCandidates"/>.
    /// The default implementation returns <see cref="ReadId"/>'s value alone.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <returns>The values as sent; empty when the request carries none.</returns>
    IEnumerable<string> ReadIds(HttpContext context) => ReadId(context) is { } value ? [value] : [];

    /// <summary>Sends <paramref name="value"/> to the client.</summary>
    /// <param name="context">The request whose response is being prepared (not started).</param>
    /// <param name="value">The value to send.</param>
    /// <param name="expires">For a persistent session, when the client should forget it; <see langword="null"/> for a browser-session cookie.</param>
    void WriteId(HttpContext context, string value, DateTimeOffset? expires);

    /// <summary>Tells the client to forget its session ID.</summary>
    /// <param name="context">The request whose response is being prepared (not started).</param>
    void ClearId(HttpContext context);
}
