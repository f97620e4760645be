namespace Sessions.Conformance;

/// <summary>
/// A client with its own cookie jar for the session cookie, as a browser would keep it: a <c>Set-Cookie</c> that issues
/// an ID replaces the one held, one that deletes the cookie removes it. Other cookies are ignored.
/// </summary>
internal sealed class Browser(BehaviourApp app, string? userAgent)
{
    private readonly Lock _lock = new();
    private string? _cookie;

    /// <summary>The value of the session cookie the browser holds (and sends), or <see langword="null"/>.</summary>
    public string? Cookie
    {
        get
        {
            lock (_lock)
            {
                return _cookie;
            }
        }

        set
        {
            lock (_lock)
            {
                _cookie = value;
            }
        }
    }

    /// <summary>Sends a GET with the held cookie (if any) and the given extra headers, then updates the jar from the reply.</summary>
    public Task<Reply> GetAsync(string path, params (string Name, string Value)[] headers) => GetAsync(path, CancellationToken.None, headers);

    /// <summary>As the overload without a token; <paramref name="cancellationToken"/> aborts the request as a client that disconnects does.</summary>
    public async Task<Reply> GetAsync(string path, CancellationToken cancellationToken, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (userAgent is not null)
        {
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        }

        if (Cookie is { } cookie)
        {
            request.Headers.TryAddWithoutValidation("Cookie", $"{app.CookieName}={cookie}");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var reply = await app.SendAsync(path, request, cancellationToken);
        if (reply.SessionCookie is { } set)
        {
            Cookie = set.Deletes ? null : set.Value;
        }

        return reply;
    }
}
