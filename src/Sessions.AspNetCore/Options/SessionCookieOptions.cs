using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http;

namespace Sessions;

/// <summary>The session cookie. Defaults: name <c>session</c>, HttpOnly, SameSite=Lax, Secure on HTTPS requests, Path <c>/</c>, essential.</summary>
public sealed class SessionCookieOptions
{
    /// <summary>The prefix browsers enforce for host-only, secure, path-<c>/</c> cookies.</summary>
    public const string HostPrefix = "__Host-";

    /// <summary>The cookie name. Default <c>session</c>.</summary>
    [Required(ErrorMessage = "Sessions:Cookie:Name must not be empty.")]
    [RegularExpression("[!#$%&'*+.^_`|~0-9A-Za-z-]+", ErrorMessage = "Sessions:Cookie:Name must be a valid cookie name (letters, digits, and !#$%&'*+-.^_`|~).")]
    public string Name { get; set; } = "session";

    /// <summary>
    /// When <see langword="true"/>, the name gets the <c>__Host-</c> prefix, the cookie is always Secure, has Path <c>/</c> and no Domain,
    /// so browsers refuse it from subdomains and plain HTTP. Use it on HTTPS-only sites. Default <see langword="false"/>.
    /// </summary>
    public bool UseHostPrefix { get; set; }

    /// <summary>Whether scripts may not read the cookie. Default <see langword="true"/>; leave it on.</summary>
    public bool HttpOnly { get; set; } = true;

    /// <summary>The SameSite attribute. Default <see cref="SameSiteMode.Lax"/>.</summary>
    public SameSiteMode SameSite { get; set; } = SameSiteMode.Lax;

    /// <summary>When the cookie is marked Secure. Default: when the request is HTTPS. Set <see cref="CookieSecurePolicy.Always"/> behind a TLS-terminating proxy.</summary>
    public CookieSecurePolicy SecurePolicy { get; set; } = CookieSecurePolicy.SameAsRequest;

    /// <summary>The cookie path. Default <c>/</c>.</summary>
    [Required(ErrorMessage = "Sessions:Cookie:Path must start with '/'.")]
    [RegularExpression("/.*", ErrorMessage = "Sessions:Cookie:Path must start with '/'.")]
    public string Path { get; set; } = "/";

    /// <summary>The cookie domain, or <see langword="null"/> (the default) for a host-only cookie.</summary>
    public string? Domain { get; set; }

    /// <summary>
    /// Whether the cookie is essential, so a cookie-consent policy (<c>UseCookiePolicy</c>) does not suppress it. Default
    /// <see langword="true"/>: otherwise sessions would silently stop working until consent is given.
    /// </summary>
    public bool IsEssential { get; set; } = true;

    /// <summary>The name actually sent: <see cref="Name"/>, with the <c>__Host-</c> prefix when <see cref="UseHostPrefix"/> is on.</summary>
    public string EffectiveName => UseHostPrefix && !Name.StartsWith(HostPrefix, StringComparison.Ordinal) ? HostPrefix + Name : Name;
}
