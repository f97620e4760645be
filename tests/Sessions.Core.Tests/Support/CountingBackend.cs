using Sessions.Backends;

namespace Sessions.Core.Tests.Support;

/// <summary>Wraps a real backend and counts calls, so tests can check which backend calls the engine makes.</summary>
public sealed class CountingBackend(ISessionBackend inner) : ISessionBackend
{
    public int Gets { get; private set; }

    public int Sets { get; private set; }

    public int Removes { get; private set; }

    public int Touches { get; private set; }

    public int Calls => Gets + Sets + Removes + Touches;

    /// <summary>When set, every call throws this instead of reaching the inner backend.</summary>
    public Exception? FailWith { get; set; }

    /// <summary>When set, conditional writes report a conflict without writing (a backend that never lets a save through).</summary>
    public bool AlwaysConflict { get; set; }

    public ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        Gets++;
        Throw();
        return inner.GetAsync(key, cancellationToken);
    }

    /// <summary>When set, a write waits this long (ignoring cancellation, like a frozen store) and is then applied.</summary>
    public TimeSpan SetDelay { get; set; }

    /// <summary>When set, a write first awaits what this returns for it (a test holds one write back while others go on).</summary>
    public Func<string, SetCondition, Task>? SetGate { get; set; }

    public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        Sets++;
        Throw();
        if (SetGate is { } gate)
        {
            return GatedSetAsync(gate(key, condition), key, record, condition);
        }

        if (SetDelay > TimeSpan.Zero)
        {
            return DelayedSetAsync(key, record, condition, SetDelay);
        }

        return AlwaysConflict && condition.Kind == SetConditionKind.IfVersion ? new(false) : inner.SetAsync(key, record, condition, cancellationToken);
    }

    private async ValueTask<bool> GatedSetAsync(Task gate, string key, SessionRecord record, SetCondition condition)
    {
        await gate;
        return await inner.SetAsync(key, record, condition, CancellationToken.None);
    }

    private async ValueTask<bool> DelayedSetAsync(string key, SessionRecord record, SetCondition condition, TimeSpan delay)
    {
        await Task.Delay(delay, CancellationToken.None);
        return await inner.SetAsync(key, record, condition, CancellationToken.None);
    }

    public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        Removes++;
        Throw();
        return inner.RemoveAsync(key, expectedVersion, cancellationToken);
    }

    public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        Touches++;
        Throw();
        return inner.TouchAsync(key, expiresAt, cancellationToken);
    }

    public void Reset() => Gets = Sets = Removes = Touches = 0;

    private void Throw()
    {
        if (FailWith is { } ex)
        {
            throw ex;
        }
    }
}
