using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Sessions;
using Sessions.AspNetCore;
using Sessions.Backends;
using Sessions.Diagnostics;
using Sessions.Engine;
using Sessions.Events;
using Sessions.Ids;
using Sessions.Management;
using Sessions.Memory;
using Sessions.Protection;

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
        var builder = AddCore(services, null);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return builder;
    }

    /// <summary>
    /// Adds sessions with options bound from configuration (for example the <c>Sessions</c> section). Backends added on
    /// the returned builder bind their own options from the child section named after them (<c>Sessions:Redis</c>, ...),
    /// and <c>Sessions:Backend</c> chooses among several registered backends.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section holding <see cref="SessionOptions"/> values.</param>
    /// <param name="configure">Runs after binding, to set or override options in code; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <example><code>builder.Services.AddSessions(builder.Configuration.GetSection("Sessions")).AddRedisBackend();</code></example>
    public static ISessionsBuilder AddSessions(this IServiceCollection services, IConfiguration configuration, Action<SessionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = AddCore(services, configuration);
        services.Configure<SessionOptions>(configuration);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return builder;
    }

    /// <summary>
    /// Stores sessions in this process's memory (backend name <c>memory</c>): for development, tests and single-instance
    /// apps. The options bind from <c>Sessions:Memory</c> (for example <c>Sessions:Memory:MaxEntries</c>) when sessions
    /// were added with <c>AddSessions(IConfiguration)</c>; then <paramref name="configure"/> runs.
    /// </summary>
    /// <param name="builder">The sessions builder.</param>
    /// <param name="configure">Sets the optional size bound after binding; <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    public static ISessionsBuilder AddMemoryBackend(this ISessionsBuilder builder, Action<MemorySessionBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddBackendOptions("Memory", configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MemorySessionBackendOptions>, MemoryOptionsValidator>());
        return builder.UseBackend("memory", sp => new MemorySessionBackend(
            sp.GetRequiredService<IOptions<MemorySessionBackendOptions>>().Value,
            sp.GetService<TimeProvider>()));
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

    private static SessionsBuilder AddCore(IServiceCollection services, IConfiguration? configuration)
    {
        services.AddOptions<SessionOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SessionOptions>, SessionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SessionOptions>, BackendRegisteredValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SessionOptions>, DataProtectionWiring.Validator>());
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
        services.AddHostedService(sp => sp.GetRequiredService<SessionStore>().BackgroundWork);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SessionBackendActivator>());
        services.TryAddSingleton(sp => new SessionBackendSelection(
            sp.GetServices<SessionBackendRegistration>(),
            sp.GetRequiredService<IOptions<SessionOptions>>().Value));
        services.TryAddSingleton(sp => sp.GetRequiredService<SessionBackendSelection>().Registration.Factory(sp));
        services.TryAddSingleton(sp =>
        {
            var selection = sp.GetRequiredService<SessionBackendSelection>();
            var logger = sp.GetService<ILogger<SessionStore>>();
            return new SessionStore(
                sp.GetRequiredService<ISessionBackend>(),
                sp.GetRequiredService<IOptions<SessionOptions>>().Value,
                selection.Name,
                sp.GetRequiredService<ISessionIdGenerator>(),
                sp.GetRequiredService<TimeProvider>(),
                logger,
                DataProtectionWiring.Find(sp),
                validateOptions: false) // validated at start-up (ValidateOnStart) and by IOptions
            {
                Events = new SessionEventDispatcher(sp.GetServices<ISessionEvents>(), (ILogger?)logger ?? NullLogger.Instance),
            };
        });
        return new SessionsBuilder(services, configuration);
    }

    /// <summary>
    /// Creates the selected backend when the app starts, so its options are validated then (and only its own); runs its
    /// start-up work when it implements <see cref="ISessionBackendInitializer"/> (create or check a table or an index: a
    /// failure stops start-up with the backend's message); and warms it: a backend with a health probe is probed once
    /// (bounded by <see cref="WarmUpTimeout"/>), so connection set-up (a TCP or TLS handshake, a gRPC channel, a database
    /// pool) is not paid by the first requests against the operation timeout. A failed warm-up does not stop the app: the
    /// store may come up later, and requests then get 503 until it does.
    /// </summary>
    private sealed class SessionBackendActivator(IServiceProvider services) : IHostedService
    {
        private static readonly TimeSpan WarmUpTimeout = TimeSpan.FromSeconds(5);

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var backend = services.GetRequiredService<ISessionBackend>();
            if (backend is ISessionBackendInitializer initializer)
            {
                // Not bounded here: creating a table may take minutes. HostOptions.StartupTimeout bounds it, and the
                // log says what the app waits for.
                var logger = services.GetService<ILoggerFactory>()?.CreateLogger(typeof(SessionStore)) ?? NullLogger.Instance;
                var name = services.GetRequiredService<SessionBackendSelection>().Name;
                var started = Stopwatch.GetTimestamp();
                Log.Initializing(logger, name);
                await initializer.InitializeAsync(cancellationToken).ConfigureAwait(false);
                Log.Initialized(logger, name, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            if (backend is not ISessionBackendHealthProbe probe)
            {
                return;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(WarmUpTimeout);
            try
            {
                await probe.ProbeAsync(timeout.Token).AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                var selection = services.GetRequiredService<SessionBackendSelection>();
                services.GetService<ILoggerFactory>()?.CreateLogger(typeof(SessionStore)).LogWarning(
                    "The session backend '{Backend}' did not answer its start-up probe within {Seconds} s ({Reason}); the app starts anyway, and requests that use the session get 503 until it answers.",
                    selection.Name,
                    WarmUpTimeout.TotalSeconds,
                    ex.Message);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class MemoryOptionsValidator : IValidateOptions<MemorySessionBackendOptions>
    {
        public ValidateOptionsResult Validate(string? name, MemorySessionBackendOptions options) =>
            options.MaxEntries is <= 0
                ? ValidateOptionsResult.Fail($"Sessions:Memory:MaxEntries must be positive, or unset for no bound; it is {options.MaxEntries}.")
                : ValidateOptionsResult.Success;
    }

    private sealed class BackendRegisteredValidator(IEnumerable<SessionBackendRegistration> registrations) : IValidateOptions<SessionOptions>
    {
        public ValidateOptionsResult Validate(string? name, SessionOptions options) =>
            SessionBackendSelection.SelectWithMigration([.. registrations], options, out var error) is null
                ? ValidateOptionsResult.Fail(error!)
                : ValidateOptionsResult.Success;
    }

    private sealed class SessionsBuilder(IServiceCollection services, IConfiguration? configuration) : ISessionsBuilder
    {
        public IServiceCollection Services { get; } = services;

        public IConfiguration? Configuration { get; } = configuration;

        public ISessionsBuilder UseBackend(string name, Func<IServiceProvider, ISessionBackend> factory)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            ArgumentNullException.ThrowIfNull(factory);
            for (var i = Services.Count - 1; i >= 0; i--)
            {
                if (Services[i].ServiceType == typeof(SessionBackendRegistration)
                    && Services[i].ImplementationInstance is SessionBackendRegistration existing
                    && string.Equals(existing.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    Services.RemoveAt(i);
                }
            }

            Services.AddSingleton(new SessionBackendRegistration(name, factory));
            return this;
        }
    }
}
