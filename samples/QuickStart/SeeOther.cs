namespace QuickStart;

/// <summary>303 See Other: after a form post the browser fetches the page with GET, so a reload does not post again.</summary>
internal sealed class SeeOther(string location) : IResult
{
    public static readonly SeeOther Home = new("/");

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCodes.Status303SeeOther;
        httpContext.Response.Headers.Location = location;
        return Task.CompletedTask;
    }
}
