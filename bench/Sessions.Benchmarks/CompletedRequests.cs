using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;

namespace Sessions.Benchmarks;

/// <summary>
/// GETs on TestServer that complete when the app's last middleware marks them done (<see cref="MarkDone"/>), after the
/// session middleware has committed, rather than when the response headers arrive.
/// </summary>
internal static class CompletedRequests
{
    private static readonly object s_done = new();

    /// <summary>Marks the request done; the app's innermost middleware calls it after the rest of the pipeline.</summary>
    public static void MarkDone(HttpContext context) => (context.Items[s_done] as TaskCompletionSource)?.SetResult();

    /// <summary>Sends <c>GET <paramref name="path"/></c> with <paramref name="cookie"/> (a <c>Cookie</c> header value) and waits until it is done.</summary>
    public static async Task<HttpContext> GetAsync(TestServer server, string path, string? cookie)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var context = await server.SendAsync(c =>
        {
            c.Items[s_done] = done;
            c.Request.Method = HttpMethods.Get;
            c.Request.Path = path;
            if (!string.IsNullOrEmpty(cookie))
            {
                c.Request.Headers.Cookie = cookie;
            }
        });
        await done.Task;
        return context;
    }
}
