using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sessions.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Sessions in Blazor circuits and SignalR hubs.</summary>
public static class ConnectionSessionsBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="IServerSessionAccessor"/>, which gives Blazor components rendered interactively on the server
    /// and SignalR hub methods the session of their browser, as well as HTTP requests. It adds a hub filter (for every hub,
    /// Blazor's included), a circuit handler, and <c>IHttpContextAccessor</c>. Options come from
    /// <c>Sessions:Connections</c> (when <c>AddSessions</c> was given configuration), then <paramref name="configure"/>.
    /// </summary>
    /// <param name="builder">The sessions builder.</param>
    /// <param name="configure">Sets <see cref="ConnectionSessionOptions"/> in code; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// Start the app with <c>UseSessions()</c> before <c>MapRazorComponents</c> and <c>MapHub</c>, so that the request that
    /// opens a circuit or connection has its session cookie read and verified.
    /// </remarks>
    public static ISessionsBuilder AddConnectionSessions(this ISessionsBuilder builder, Action<ConnectionSessionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddBackendOptions("Connections", configure)
            .Validate(o => o.KeepAliveInterval is not { } interval || interval >= TimeSpan.Zero, "Sessions:Connections:KeepAliveInterval must not be negative (TimeSpan.Zero turns it off).")
            .ValidateOnStart();

        var services = builder.Services;
        services.AddHttpContextAccessor();
        services.TryAddSingleton<SessionConnectionFactory>();
        services.TryAddSingleton<SessionHubFilter>();
        services.TryAddScoped<ServerSessionAccessor>();
        services.TryAddScoped<IServerSessionAccessor>(static provider => provider.GetRequiredService<ServerSessionAccessor>());
        services.TryAddEnumerable(ServiceDescriptor.Scoped<CircuitHandler, SessionCircuitHandler>());
        if (!services.Any(d => d.ServiceType == typeof(ConnectionSessionsMarker)))
        {
            services.AddSingleton<ConnectionSessionsMarker>();
            services.Configure<HubOptions>(static options => options.AddFilter<SessionHubFilter>());
        }

        return builder;
    }

    // Registered once, so that calling AddConnectionSessions twice adds the hub filter once.
    private sealed class ConnectionSessionsMarker;
}
