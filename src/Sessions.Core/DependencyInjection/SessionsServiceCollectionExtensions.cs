using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sessions;
using Sessions.AspNetCore;
using Sessions.Backends;
using Sessions.Diagnostics;
using Sessions.Engine;
using Sessions.Ids;
using Sessions.Management;
using Sessions.Memory;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers server-side sessions.</summary>
public static class SessionsServiceCollectionExtensions
{
    /// <summary>Adds sessions with options set in code. Choose a backend on the returned builder.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="SessionOptions"/>; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The builder, for <c>.AddMemoryBackend()</c>, <c>.AddRedisBackend(...)</c> and so on.</returns>
    public static ISessionsBuilder AddSessions(this IServiceCollection services, Action<SessionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = AddCore(services);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return builder;
    }

    /// <summary>Adds sessions with options bound from configuration (for example the <c>Sessions</c> section).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section holding <see cref="SessionOptions"/> values.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddSessions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = AddCore(services);
        services.Configure<SessionOptions>(configuration);
        return builder;
    }

    /// <summary>Stores sessions in this process's memory: for development, tests and single-instance apps.</summary>
    /// <param name="builder">The sessions builder.</param>
    /// <param name="configure">Sets the optional size bound.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddMemoryBackend(this ISessionsBuilder builder, Action<MemorySessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new MemorySessionBackendOptions();
        configure?.Invoke(options);
        return builder.UseBackend("memory", sp => new MemorySessionBackend(options, sp.GetService<TimeProvider>()));
    }

    /// <summary>Carries the session ID in a request/response header (default <c>X-Session-Id</c>) instead of a cookie: for APIs.</summary>
    /// <param name="builder">The sessions builder.</param>
    /// <param name="headerName">The header name.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder UseHeaderIds(this ISessionsBuilder builder, string headerName = HeaderSessionIdResolver.DefaultHeaderName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var resolver = new HeaderSessionIdResolver(headerName);
        builder.Services.RemoveAll<ISessionIdResolver>();
        builder.Services.AddSingleton<ISessionIdResolver>(resolver);
        return builder;
    }

    /// <summary>Accepts the session ID from a header (for API clients) or the cookie (for browsers), answering each the way it asked.</summary>
    /// <param name="builder">The sessions builder.</param>
    /// <param name="headerName">The header name.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder UseHeaderOrCookieIds(this ISessionsBuilder builder, string headerName = HeaderSessionIdResolver.DefaultHeaderName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<ISessionIdResolver>();
        builder.Services.AddSingleton<ISessionIdResolver>(sp => new CompositeSessionIdResolver(
            new HeaderSessionIdResolver(headerName),
            new CookieSessionIdResolver(sp.GetRequiredService<IOptions<SessionOptions>>())));
        return builder;
    }

    /// <summary>Adds a health check that reports whether the session backend answers.</summary>
    /// <param name="builder">The health checks builder (from <c>services.AddHealthChecks()</c>).</param>
    /// <param name="name">The check's name. Default <c>sessions</c>.</param>
    /// <param name="failureStatus">The status reported when the backend does not answer. Default unhealthy.</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <returns>The health checks builder.</returns>
    public static IHealthChecksBuilder AddSessionsHealthCheck(this IHealthChecksBuilder builder, string name = "sessions", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<SessionBackendHealthCheck>(name, failureStatus, tags ?? [], TimeSpan.FromSeconds(5));
    }

    private static SessionsBuilder AddCore(IServiceCollection services)
    {
        services.AddOptions<SessionOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SessionOptions>, SessionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SessionOptions>, BackendRegisteredValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISessionIdGenerator>(sp => new SessionIdGenerator(sp.GetRequiredService<IOptions<SessionOptions>>().Value.IdLengthBytes));
        services.TryAddSingleton<ISessionIdProtector>(sp =>
        {
            var keys = sp.GetRequiredService<IOptions<SessionOptions>>().Value.SigningKeys;
            return keys.Count == 0
                ? PlainSessionIdProtector.Instance
                : new HmacSessionIdProtector(keys.Select(k => HmacSessionIdProtector.DecodeKey(k)!));
        });
        services.TryAddSingleton<ISessionIdResolver, CookieSessionIdResolver>();
        services.TryAddSingleton<ISessionManager, SessionManager>();
        services.AddHostedService<ExpiredSessionPurgeService>();
        services.TryAddSingleton(sp =>
        {
            var registration = sp.GetService<SessionBackendRegistration>()
                ?? throw new InvalidOperationException("No session backend is registered. Chain one onto AddSessions(): .AddMemoryBackend(), .AddFileSystemBackend(), .AddRedisBackend(...), ...");
            return new SessionStore(
                sp.GetRequiredService<ISessionBackend>(),
                sp.GetRequiredService<IOptions<SessionOptions>>().Value,
                registration.Name,
                sp.GetRequiredService<ISessionIdGenerator>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILogger<SessionStore>>());
        });
        return new SessionsBuilder(services);
    }

    private sealed class BackendRegisteredValidator(IEnumerable<SessionBackendRegistration> registrations) : IValidateOptions<SessionOptions>
    {
        public ValidateOptionsResult Validate(string? name, SessionOptions options) => registrations.Any()
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("No session backend is registered. Chain one onto AddSessions(): .AddMemoryBackend(), .AddFileSystemBackend(), .AddRedisBackend(...), ...");
    }

    private sealed class SessionsBuilder(IServiceCollection services) : ISessionsBuilder
    {
        public IServiceCollection Services { get; } = services;

        public ISessionsBuilder UseBackend(string name, Func<IServiceProvider, ISessionBackend> factory)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            ArgumentNullException.ThrowIfNull(factory);
            var registration = new SessionBackendRegistration(name, factory);
            Services.RemoveAll<SessionBackendRegistration>();
            Services.RemoveAll<ISessionBackend>();
            Services.AddSingleton(registration);
            Services.AddSingleton(sp => sp.GetRequiredService<SessionBackendRegistration>().Factory(sp));
            return this;
        }
    }
}
