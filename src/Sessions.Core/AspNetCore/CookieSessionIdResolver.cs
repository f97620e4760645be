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

    /// <summary>The cookie name in use.</summary>
    public string CookieName => _name;

    /// <inheritdoc />
    public string? ReadId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Request.Cookies.TryGetValue(_name, out var value) && !string.IsNullOrEmpty(value) ? value : null;
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
