using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sessions.Diagnostics;

namespace Sessions.Events;

/// <summary>Raises lifecycle events to every registered <see cref="ISessionEvents"/>, in order, logging (never rethrowing) a handler's exception.</summary>
internal sealed class SessionEventDispatcher
{
    /// <summary>No handlers: raising is free, and callers skip building events.</summary>
    public static readonly SessionEventDispatcher None = new([], NullLogger.Instance);

    private readonly ISessionEvents[] _handlers;
    private readonly ILogger _logger;

    public SessionEventDispatcher(IEnumerable<ISessionEvents> handlers, ILogger logger)
    {
        _handlers = [.. handlers];
        _logger = logger;
    }

    /// <summary>Whether any handler is registered.</summary>
    public bool Enabled => _handlers.Length > 0;

    public async ValueTask RaiseAsync(IReadOnlyList<SessionEvent> events)
    {
        foreach (var e in events)
        {
            await RaiseAsync(e).ConfigureAwait(false);
        }
    }

    public async ValueTask RaiseAsync(SessionEvent e)
    {
        foreach (var handler in _handlers)
        {
            try
            {
                var pending = e switch
                {
                    SessionCreatedEvent created => handler.OnCreatedAsync(created),
                    SessionRegeneratedEvent regenerated => handler.OnRegeneratedAsync(regenerated),
                    SessionDestroyedEvent destroyed => handler.OnDestroyedAsync(destroyed),
                    SessionExpiredEvent expired => handler.OnExpiredAsync(expired),
                    _ => ValueTask.CompletedTask,
                };
                await pending.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // A handler must never change a response: its failure is the handler's bug, reported, not the request's.
                Log.EventHandlerFailed(_logger, ex, handler.GetType().FullName ?? handler.GetType().Name, e.GetType().Name);
            }
        }
    }
}
