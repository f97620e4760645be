using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Engine;
using Sessions.Ids;

namespace Sessions.AspNetCore;

/// <summary>Opens a <see cref="SessionConnection"/> from the request that opened a circuit or hub connection: the IDs it carries, verified as the middleware verifies them.</summary>
internal sealed class SessionConnectionFactory(
    SessionStore store,
    ISessionIdResolver resolver,
    ISessionIdProtector protector,
    ISessionIdGenerator idGenerator,
    IOptions<ConnectionSessionOptions> options,
    ILogger<SessionConnection> logger)
{
    public SessionStore Store => store;

    public ConnectionSessionOptions Options => options.Value;

    public ILogger Logger => logger;

    /// <summary>The keep-alive period in force; <see cref="TimeSpan.Zero"/> for none.</summary>
    public TimeSpan KeepAliveInterval => Options.KeepAliveInterval ?? store.Options.IdleTimeout / 3;

    /// <summary>A connection with the IDs <paramref name="context"/> carries; with none for <see langword="null"/> (no browser session).</summary>
    public SessionConnection Open(HttpContext? context) =>
        new(store, context is null ? null : SessionMiddleware.ReadIds(context, resolver, protector, idGenerator));
}
