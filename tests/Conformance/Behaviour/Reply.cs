using System.Net;
using NUnit.Framework;

namespace Sessions.Conformance;

/// <summary>What the app answered to one request: status, body, headers, and the parsed <c>Set-Cookie</c> headers.</summary>
internal sealed class Reply
{
    private readonly Dictionary<string, string[]> _headers;

    private Reply(string path, HttpStatusCode status, string body, Dictionary<string, string[]> headers, string cookieName)
    {
        Path = path;
        Status = status;
        Body = body;
        _headers = headers;
        SetCookies = [.. Values("Set-Cookie").Select(SetCookie.Parse)];
        var session = SetCookies.Where(c => c.Name == cookieName).ToList();
        if (session.Count > 1)
        {
            Assert.Fail($"{path}: the response sets the session cookie {session.Count} times: {string.Join(" | ", session)}");
        }

        SessionCookie = session.SingleOrDefault();
    }

    public string Path { get; }

    public HttpStatusCode Status { get; }

    public string Body { get; }

    public IReadOnlyList<SetCookie> SetCookies { get; }

    /// <summary>The <c>Set-Cookie</c> for the session cookie, or <see langword="null"/> when the response does not set it.</summary>
    public SetCookie? SessionCookie { get; }

    /// <summary>A session cookie that gives the client an ID (not one that deletes it).</summary>
    public SetCookie? IssuedCookie => SessionCookie is { Deletes: false } cookie ? cookie : null;

    public IReadOnlyList<string> Vary => [.. Values("Vary").SelectMany(v => v.Split(',')).Select(v => v.Trim())];

    public IReadOnlyList<string> Values(string header) => _headers.TryGetValue(header, out var values) ? values : [];

    public string? Header(string header) => _headers.TryGetValue(header, out var values) ? string.Join(",", values) : null;

    /// <summary>A one-line description for assertion messages.</summary>
    public string Describe() =>
        $"{Path} → {(int)Status}, body \"{Truncate(Body)}\", Set-Cookie [{string.Join(" | ", SetCookies)}], Vary [{string.Join(",", Vary)}]";

    public static async Task<Reply> ReadAsync(string path, HttpResponseMessage response, string cookieName, CancellationToken cancellationToken)
    {
        var headers = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[name] = [.. values];
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return new Reply(path, response.StatusCode, body, headers, cookieName);
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "...";
}
