using Sessions.Backends;

namespace Sessions.Core.Tests.Support;

/// <summary>A real backend's calls passed through unchanged: a test derives from it to give the store one more capability.</summary>
public abstract class ForwardingBackend(ISessionBackend inner) : ISessionBackend
{
    public ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

    public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken) =>
        inner.SetAsync(key, record, condition, cancellationToken);

    public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken) =>
        inner.RemoveAsync(key, expectedVersion, cancellationToken);

    public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        inner.TouchAsync(key, expiresAt, cancellationToken);
}
