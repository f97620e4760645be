using Sessions.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds server-side sessions to the request pipeline.</summary>
public static class SessionsApplicationBuilderExtensions
{
    /// <summary>
    /// Adds the session middleware: <c>HttpContext.Session</c> (and <c>HttpContext.GetServerSession()</c>) are available to
    /// everything after it. Place it after <c>UseRouting()</c> when endpoints opt out with <c>.WithoutSession()</c>
    /// (minimal-API apps route first automatically), and after static files so they cost no backend call.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder.</returns>
    public static IApplicationBuilder UseSessions(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<SessionMiddleware>();
    }

    /// <summary>Switches sessions off for these endpoints: no backend call, no cookie, <c>HttpContext.Session</c> unavailable.</summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoints.</param>
    /// <returns>The builder.</returns>
    public static TBuilder WithoutSession<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(new WithoutSessionAttribute()));
        return builder;
    }
}
