using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Sessions.AspNetCore;

/// <summary>The default transport: the session ID travels in a cookie configured by <see cref="SessionOptions.Cookie"/>.</summary>
public sealed class CookieSessionIdResolver : ISessionIdResolver
{
    private readonly SessionCookieOptions _cookie;
    private readonly string _name;

    /// <summary>Creates the resolver.</summary>
    /// <param name="options">The session options holding the cookie settings.</param>
    public CookieSessionIdResolver(IOptions<SessionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _cookie = options.Value.Cookie;
        _name = _cookie.EffectiveName;
    }

    /// <summary>How many values of the session cookie a request may offer (same-named cookies from several paths or domains); more are ignored.</summary>
    public const int MaxIdCandidates = 4;

    /// <summary>The cookie name in use.</summary>
    public string CookieName => _name;

    /// <inheritdoc />
    public string? ReadId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Request.Cookies.TryGetValue(_name, out var value) && !string.IsNullOrEmpty(value) ? value : null;
    }

    /// <inheritdoc />
    /// <remarks>Reads the <c>Cookie</c> headers (RFC 6265 section 5.4: <c>name=value</c> pairs separated by <c>; </c>) for every
    /// non-empty value named <see cref="CookieName"/>, up to <see cref="MaxIdCandidates"/>, percent-decoded as
    /// <see cref="HttpRequest.Cookies"/> decodes them.</remarks>
    public IEnumerable<string> ReadIds(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        List<string>? values = null;
        foreach (var header in context.Request.Headers.Cookie)
        {
            if (header is null)
            {
                continue;
            }

            foreach (var range in header.AsSpan().Split(';'))
            {
                var pair = header.AsSpan()[range].Trim();
                var equals = pair.IndexOf('=');
                if (equals <= 0 || !pair[..equals].Trim().SequenceEqual(_name))
                {
                    continue;
                }

                var value = pair[(equals + 1)..].Trim();
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }

                if (value.IsEmpty)
                {
                    continue;
                }

                (values ??= []).Add(value.Contains('%') ? Uri.UnescapeDataString(value.ToString()) : value.ToString());
                if (values.Count == MaxIdCandidates)
                {
                    return values;
                }
            }
        }

        return (IEnumerable<string>?)values ?? [];
    }

    /// <inheritdoc />
    public void WriteId(HttpContext context, string value, DateTimeOffset? expires)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Cookies.Append(_name, value, Build(context, expires));
    }

    /// <inheritdoc />
    public void ClearId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Cookies.Delete(_name, Build(context, null));
    }

    private CookieOptions Build(HttpContext context, DateTimeOffset? expires) => new()
    {
        HttpOnly = _cookie.HttpOnly,
        SameSite = _cookie.SameSite,
        Path = _cookie.UseHostPrefix ? "/" : _cookie.Path,
        Domain = _cookie.UseHostPrefix ? null : _cookie.Domain,
        Secure = _cookie.UseHostPrefix || _cookie.SecurePolicy switch
        {
            CookieSecurePolicy.Always => true,
            CookieSecurePolicy.None => false,
            _ => context.Request.IsHttps,
        },
        IsEssential = _cookie.IsEssential,
        Expires = expires,
    };
}
