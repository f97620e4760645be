// The QuickStart demo: server-side sessions with a counter, sign-in and a list of the user's sessions.
// HTTP contract (tools depend on it; keep it stable):
//   GET  /hit     increments the int session key "n", returns the new value (text/plain)
//   GET  /read    returns n (0 when absent) without modifying the session
//   GET  /plain   returns "ok"; goes through the middleware but never touches the session
//   POST /login   form field "user": binds the session to the user and regenerates its ID; 303 to /
//   POST /logout  destroys the session; 303 to /
//   POST /revoke  form field "handle": revokes one of the signed-in user's sessions; 303 to /
//   GET  /        the HTML page
// The POSTs take plain form posts without an antiforgery token, so scripts and load tools can drive them.
using System.Globalization;
using QuickStart;
using Sessions;
using Sessions.Backends;

var builder = WebApplication.CreateBuilder(args);

// No --urls, ASPNETCORE_URLS or *_HTTP_PORTS: serve the documented default.
if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey])
    && string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.HttpPortsKey])
    && string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.HttpsPortsKey]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5000");
}

// Every backend this sample ships, registered once; Sessions:Backend (appsettings.json: filesystem) chooses the one in
// force, and each binds its own options from Sessions:<Backend> (Sessions:Redis:Configuration, Sessions:EFCore:Provider, ...).
// A missing or unknown name stops the app at start-up with the list of registered names.
builder.Services.AddSessions(builder.Configuration.GetSection("Sessions"))
    .AddFileSystemBackend()
    .AddMemoryBackend()
    .AddRedisBackend()
    .AddMemcachedBackend()
    .AddEFCoreBackend()
    .AddDynamoDbBackend()
    .AddFirestoreBackend()
    .AddMongoBackend()
    .AddElasticsearchBackend();

var app = builder.Build();
if (app.Services.GetRequiredService<SessionBackendSelection>().Name == "efcore")
{
    // The sessions table is never created behind the app's back: the sample asks for it explicitly.
    await app.Services.EnsureSessionsTableAsync();
}

// QuickStart:UseSessions=false leaves the session middleware out, so that the load harness (bench/load) can measure /plain
// without it; /hit, /read and the other session endpoints then fail.
if (app.Configuration.GetValue("QuickStart:UseSessions", defaultValue: true))
{
    app.UseSessions();
}

app.MapGet("/hit", (HttpContext ctx) =>
{
    var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
    ctx.Session.SetInt32("n", n);
    return n.ToString(CultureInfo.InvariantCulture);
});

app.MapGet("/read", (HttpContext ctx) => (ctx.Session.GetInt32("n") ?? 0).ToString(CultureInfo.InvariantCulture));

app.MapGet("/plain", () => "ok");

app.MapPost("/login", async (HttpContext ctx) =>
{
    var (form, problem) = await ReadFormAsync(ctx);
    if (form is null)
    {
        return Results.BadRequest(problem);
    }

    var user = form["user"].ToString().Trim();
    if (user.Length == 0)
    {
        return Results.BadRequest("The form field 'user' is required.");
    }

    if (user.Any(char.IsControl))
    {
        return Results.BadRequest("The form field 'user' must not contain control characters (such as NUL).");
    }

    var session = ctx.GetServerSession();
    session.UserId = user;
    session.Regenerate();
    return SeeOther.Home;
}).DisableAntiforgery();

app.MapPost("/logout", (HttpContext ctx) =>
{
    ctx.GetServerSession().Destroy();
    return SeeOther.Home;
}).DisableAntiforgery();

app.MapPost("/revoke", async (HttpContext ctx, ISessionManager manager) =>
{
    var (form, problem) = await ReadFormAsync(ctx);
    if (form is null)
    {
        return Results.BadRequest(problem);
    }

    var handle = form["handle"].ToString();
    var session = ctx.GetServerSession();
    if (session.UserId is not { } user || handle.Length == 0)
    {
        return Results.BadRequest("Sign in first, and send the form field 'handle' of one of your sessions.");
    }

    if (handle == session.Id) // ISession.Id is the session's handle: non-secret, what ListUserSessionsAsync shows
    {
        session.Destroy();
    }
    else
    {
        await manager.RevokeUserSessionAsync(user, handle, ctx.RequestAborted);
    }

    return SeeOther.Home;
}).DisableAntiforgery();

app.MapGet("/", async (HttpContext ctx, ISessionManager manager) =>
{
    var session = ctx.GetServerSession();
    var n = session.GetInt32("n") ?? 0;
    var user = session.UserId;
    IReadOnlyList<SessionInfo> sessions = [];
    string? current = null;
    if (user is not null)
    {
        sessions = await manager.ListUserSessionsAsync(user, ctx.RequestAborted);
        current = session.Id;
    }

    return Results.Content(HomePage.Render(n, user, sessions, current), "text/html; charset=utf-8");
});

app.Run();
return 0;

// Reads a posted form, or says why it cannot be read: not a form content type, multipart without a boundary, more fields
// than FormOptions.ValueCountLimit (1,024), a value over its length limit, or a body that ends early. A client's bad
// form is a 400 with the reason, never a 500.
static async Task<(IFormCollection? Form, string? Problem)> ReadFormAsync(HttpContext ctx)
{
    if (!ctx.Request.HasFormContentType)
    {
        return (null, "Send the form as application/x-www-form-urlencoded or multipart/form-data.");
    }

    try
    {
        return (await ctx.Request.ReadFormAsync(ctx.RequestAborted), null);
    }
    catch (InvalidDataException e)
    {
        return (null, $"The form could not be read: {e.Message}");
    }
    catch (InvalidOperationException e)
    {
        return (null, $"The form could not be read: {e.Message}");
    }
    catch (IOException e) when (!ctx.RequestAborted.IsCancellationRequested)
    {
        return (null, $"The form could not be read: {e.Message}");
    }
}
