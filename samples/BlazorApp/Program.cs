// The Blazor Web App demo: one session shared by plain pages, a counter component rendered interactively on the server
// (its circuit), and a SignalR hub.
//   GET  /            static page (server-side rendering): the count, the user, sign-in and sign-out forms
//   GET  /counter     the counter component (interactive server rendering)
//   GET  /read        the count as text (a plain endpoint)
//   POST /login       form field "user": signs in (UserId, new session ID); 303 to /
//   POST /logout      ends the session; 303 to /
//   hub  /hubs/counter  Increment() and Read() on the caller's session
// Sign-in and sign-out are HTTP requests (form posts): a circuit cannot set the session cookie they change.
using System.Globalization;
using BlazorApp;
using BlazorApp.Components;
using Microsoft.AspNetCore.Mvc;
using Sessions.AspNetCore;
using Sessions.Backends;

var builder = WebApplication.CreateBuilder(args);

// No --urls, ASPNETCORE_URLS or *_HTTP_PORTS: serve the documented default.
if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey])
    && string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.HttpPortsKey])
    && string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.HttpsPortsKey]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5001");
}

// The framework's script (_framework/blazor.web.js) from the build output when run as `dotnet BlazorApp.dll` outside
// Development, as the tests do; a published app serves it from wwwroot either way.
builder.WebHost.UseStaticWebAssets();

builder.Services.AddRazorComponents().AddInteractiveServerComponents();
builder.Services.AddSignalR();

// As in QuickStart: every backend registered once, Sessions:Backend (appsettings.json: filesystem) chooses. Then
// AddConnectionSessions() gives components and hubs the browser's session (IServerSessionAccessor), with its options
// from Sessions:Connections.
builder.Services.AddSessions(builder.Configuration.GetSection("Sessions"))
    .AddFileSystemBackend()
    .AddMemoryBackend()
    .AddRedisBackend()
    .AddMemcachedBackend()
    .AddEFCoreBackend()
    .AddDynamoDbBackend()
    .AddFirestoreBackend()
    .AddMongoBackend()
    .AddElasticsearchBackend()
    .AddConnectionSessions();

var app = builder.Build();
if (app.Services.GetRequiredService<SessionBackendSelection>().Name == "efcore")
{
    await app.Services.EnsureSessionsTableAsync();
}

// Before the components and the hub: the request that opens a circuit or a hub connection has its cookie read here.
app.UseSessions();
app.UseAntiforgery();
app.MapStaticAssets();

app.MapGet("/read", async (IServerSessionAccessor sessions) =>
    ((await sessions.LoadAsync()).GetInt32(SessionCounter.Key) ?? 0).ToString(CultureInfo.InvariantCulture));

app.MapPost("/login", async ([FromForm] string? user, HttpContext ctx) =>
{
    user = user?.Trim();
    if (string.IsNullOrEmpty(user) || user.Any(char.IsControl))
    {
        return Results.BadRequest("The form field 'user' is required, without control characters.");
    }

    var session = ctx.GetServerSession();
    await session.LoadAsync(ctx.RequestAborted);
    session.UserId = user;
    session.Regenerate(); // a new ID on sign-in: a cookie planted before it is worth nothing after
    return Results.Redirect("/", permanent: false, preserveMethod: false);
});

app.MapPost("/logout", async (HttpContext ctx) =>
{
    var session = ctx.GetServerSession();
    await session.LoadAsync(ctx.RequestAborted);
    session.Destroy();
    return Results.Redirect("/");
});

app.MapHub<CounterHub>("/hubs/counter");
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();
