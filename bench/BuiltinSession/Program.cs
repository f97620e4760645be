// The built-in-session baseline for the load harness (bench/load/run.sh): AddDistributedMemoryCache() + AddSession()
// + UseSession(), default options, on Kestrel. With BUILTIN_REDIS=host:port (a StackExchange.Redis configuration
// string) the cache is AddStackExchangeRedisCache() on that Redis instead: the harness's `builtin-redis` row, ASP.NET
// Core's own session over Redis, which is what a .NET developer would otherwise pick. Same HTTP contract as samples/QuickStart:
//   GET /hit   -> n = (Session.GetInt32("n") ?? 0) + 1; stores n; returns n
//   GET /read  -> Session.GetInt32("n") ?? 0, unchanged
//   GET /plain -> "ok"; goes through UseSession() but never touches the session
// /hit and /read await Session.LoadAsync() first, as the ASP.NET Core docs recommend (without it the first access
// loads synchronously).
//
//   dotnet bench/BuiltinSession/bin/Release/net10.0/BuiltinSession.dll --urls http://127.0.0.1:18183
using System.Globalization;

var builder = WebApplication.CreateBuilder(args);
if (Environment.GetEnvironmentVariable("BUILTIN_REDIS") is { Length: > 0 } redis)
{
    builder.Services.AddStackExchangeRedisCache(options => options.Configuration = redis);
}
else
{
    builder.Services.AddDistributedMemoryCache();
}

builder.Services.AddSession();

var app = builder.Build();
app.UseSession();

app.MapGet("/hit", async (HttpContext ctx) =>
{
    await ctx.Session.LoadAsync(ctx.RequestAborted);
    var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
    ctx.Session.SetInt32("n", n);
    return n.ToString(CultureInfo.InvariantCulture);
});

app.MapGet("/read", async (HttpContext ctx) =>
{
    await ctx.Session.LoadAsync(ctx.RequestAborted);
    return (ctx.Session.GetInt32("n") ?? 0).ToString(CultureInfo.InvariantCulture);
});

app.MapGet("/plain", () => "ok");

app.Run();
