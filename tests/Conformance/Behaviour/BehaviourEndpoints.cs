using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Sessions.Conformance;

/// <summary>The small app every behaviour test drives: each endpoint does one thing to the session and answers in plain text.</summary>
internal static class BehaviourEndpoints
{
    /// <summary>The path prefix the tests that check <see cref="SessionOptions.ExcludedPaths"/> exclude.</summary>
    public const string ExcludedPrefix = "/excluded";

    public static void Map(WebApplication app)
    {
        // The counter of the README: the standard ISession integer helpers.
        app.MapGet("/hit", (HttpContext ctx) =>
        {
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            return Text(n);
        });
        app.MapGet("/read", (HttpContext ctx) => Text(ctx.Session.GetInt32("n") ?? 0));
        app.MapGet("/plain", () => "ok");

        // Code written for ASP.NET Core's own sessions loads and commits explicitly.
        app.MapGet("/hit-explicit", async (HttpContext ctx) =>
        {
            await ctx.Session.LoadAsync(ctx.RequestAborted);
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            await ctx.Session.CommitAsync(ctx.RequestAborted);
            return Text(n);
        });

        app.MapGet("/set", (HttpContext ctx, string key, string value) =>
        {
            ctx.Session.SetString(key, value);
            return "ok";
        });
        app.MapGet("/get", (HttpContext ctx, string key) => ctx.Session.GetString(key) ?? "(none)");
        app.MapGet("/keys", (HttpContext ctx) => string.Join(",", ctx.Session.Keys.Order(StringComparer.Ordinal)));
        app.MapGet("/remove", (HttpContext ctx, string key) =>
        {
            ctx.Session.Remove(key);
            return "ok";
        });
        app.MapGet("/clear", (HttpContext ctx) =>
        {
            ctx.Session.Clear();
            return "ok";
        });
        app.MapGet("/bytes", (HttpContext ctx) =>
        {
            byte[] written = [0, 1, 2, 254, 255];
            ctx.Session.Set("bytes", written);
            return ctx.Session.TryGetValue("bytes", out var read) && read.AsSpan().SequenceEqual(written) ? "same" : "different";
        });
        // Stores `bytes` random (incompressible) bytes under `key`; /size reads back how many a key holds.
        app.MapGet("/fill", (HttpContext ctx, string key, int bytes) =>
        {
            ctx.Session.Set(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes));
            return "ok";
        });
        app.MapGet("/size", (HttpContext ctx, string key) => ctx.Session.TryGetValue(key, out var value) ? Text(value.Length) : "(none)");
        app.MapGet("/available", (HttpContext ctx) => ctx.Session.IsAvailable ? "available" : "unavailable");

        app.MapGet("/persist", (HttpContext ctx) =>
        {
            var session = ctx.GetServerSession();
            session.IsPersistent = true;
            session.SetInt32("n", (session.GetInt32("n") ?? 0) + 1);
            return "ok";
        });

        app.MapGet("/login", (HttpContext ctx, string user) =>
        {
            var session = ctx.GetServerSession();
            session.UserId = user;
            session.Regenerate();
            return "ok";
        });
        // Sign-in as the README shows it for Sessions:SessionLimitMode = Refuse: commit now, and turn a refusal into a message.
        app.MapGet("/login-or-message", async (HttpContext ctx, string user) =>
        {
            var session = ctx.GetServerSession();
            session.UserId = user;
            session.Regenerate();
            try
            {
                await session.CommitAsync(ctx.RequestAborted);
                return "ok";
            }
            catch (SessionLimitExceededException ex)
            {
                session.UserId = null;
                return $"refused: {ex.MaxSessionsPerUser}";
            }
        });
        app.MapGet("/whoami", (HttpContext ctx) => ctx.GetServerSession().UserId ?? "(anonymous)");
        app.MapGet("/handle", (HttpContext ctx, ISessionManager manager) => manager.GetHandle(ctx.Session.Id));
        app.MapGet("/regenerate", (HttpContext ctx) =>
        {
            ctx.GetServerSession().Regenerate();
            return "ok";
        });
        app.MapGet("/logout", (HttpContext ctx) =>
        {
            ctx.GetServerSession().Destroy();
            return "ok";
        });

        app.MapGet("/json/set", (HttpContext ctx, string owner) =>
        {
            ctx.Session.Set("cart", new BehaviourCart(owner, ["apple", "pear"], 12.5m));
            return "ok";
        });
        app.MapGet("/json/get", (HttpContext ctx) =>
            ctx.Session.Get<BehaviourCart>("cart") is { } cart
                ? string.Create(CultureInfo.InvariantCulture, $"{cart.Owner}|{string.Join(",", cart.Items)}|{cart.Total}")
                : "(none)");

        // Holds the request, its session loaded, until the test releases the gate; then sets one key.
        app.MapGet("/slow/{gate}", async (HttpContext ctx, Gates gates, string gate, string key, string value) =>
        {
            _ = ctx.Session.Keys;
            var g = gates[gate];
            g.Enter();
            await g.Released.WaitAsync(TimeSpan.FromSeconds(30), ctx.RequestAborted);
            ctx.Session.SetString(key, value);
            return "ok";
        });

        // Holds the request, its session loaded, until the test releases the gate; then signs in as the user (regenerate).
        app.MapGet("/slow-login/{gate}", async (HttpContext ctx, Gates gates, string gate, string user) =>
        {
            var session = ctx.GetServerSession();
            _ = session.Keys;
            var g = gates[gate];
            g.Enter();
            await g.Released.WaitAsync(TimeSpan.FromSeconds(30), ctx.RequestAborted);
            session.UserId = user;
            session.Regenerate();
            return "ok";
        });

        // Counts like /hit, then holds the request until the test releases the gate, without watching RequestAborted: the
        // test disconnects the client meanwhile, and the commit that follows must still happen (issue 21, fault 3).
        app.MapGet("/hit-then-wait/{gate}", async (HttpContext ctx, Gates gates, string gate) =>
        {
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            var g = gates[gate];
            g.Enter();
            await g.Released.WaitAsync(TimeSpan.FromSeconds(30));
            if (ctx.RequestAborted.IsCancellationRequested)
            {
                gates[gate + "-aborted"].Enter();
            }

            return Text(n);
        });

        // ISession.Id: a non-secret identifier, not the cookie (issue 21, fault 7).
        app.MapGet("/id", (HttpContext ctx) => ctx.Session.Id);

        // Typed values that plain JSON cannot hold (issue 21, fault 8).
        app.MapGet("/json/special", (HttpContext ctx) =>
        {
            ctx.Session.Set("special", new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0 });
            return string.Join(",", ctx.Session.Get<double[]>("special")!.Select(d => d.ToString("R", CultureInfo.InvariantCulture)));
        });

        // Changes an existing session after the response started, then takes the store down before the request ends: the
        // late save fails after the response was sent (logged, event 1016).
        app.MapGet("/late-then-outage", async (HttpContext ctx, Sessions.Backends.ISessionBackend backend) =>
        {
            _ = ctx.Session.GetString("x");
            await ctx.Response.WriteAsync("started;", ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            ctx.Session.SetString("x", "late");
            ((ObservedBackend)backend).Failing = true;
        });

        app.MapGet("/late", (HttpContext ctx) => WriteLateAsync(ctx, touchFirst: true));
        app.MapGet("/late-untouched", (HttpContext ctx) => WriteLateAsync(ctx, touchFirst: false));

        app.MapGet("/nosession", (HttpContext ctx) => Probe(ctx)).WithoutSession();
        app.MapGet(ExcludedPrefix + "/probe", (HttpContext ctx) => Probe(ctx));
    }

    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static async Task WriteLateAsync(HttpContext ctx, bool touchFirst)
    {
        if (touchFirst)
        {
            _ = ctx.Session.GetString("x");
        }

        await ctx.Response.WriteAsync("started;", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        await ctx.Response.WriteAsync(ctx.Response.HasStarted ? "has-started;" : "not-started;", ctx.RequestAborted);
        try
        {
            var value = ctx.Session.GetString("x") ?? "(none)";
            await ctx.Response.WriteAsync($"read {value};", ctx.RequestAborted);
        }
        catch (InvalidOperationException ex)
        {
            await ctx.Response.WriteAsync($"read failed: {ex.Message};", ctx.RequestAborted);
        }

        try
        {
            ctx.Session.SetString("x", "late");
            await ctx.Response.WriteAsync("no exception", ctx.RequestAborted);
        }
        catch (InvalidOperationException ex)
        {
            await ctx.Response.WriteAsync("InvalidOperationException: " + ex.Message, ctx.RequestAborted);
        }
    }

    private static string Probe(HttpContext ctx)
    {
        string session;
        try
        {
            _ = ctx.Session;
            session = "available";
        }
        catch (InvalidOperationException)
        {
            session = "unavailable";
        }

        string server;
        try
        {
            _ = ctx.GetServerSession();
            server = "available";
        }
        catch (InvalidOperationException)
        {
            server = "unavailable";
        }

        return $"session {session}; server session {server}";
    }
}

/// <summary>A typed value stored as JSON with <c>Set&lt;T&gt;</c> and read back with <c>Get&lt;T&gt;</c>.</summary>
internal sealed record BehaviourCart(string Owner, IReadOnlyList<string> Items, decimal Total);
