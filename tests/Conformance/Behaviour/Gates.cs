using System.Collections.Concurrent;

namespace Sessions.Conformance;

/// <summary>Named gates that hold a request inside its endpoint until the test releases it, to stage races precisely.</summary>
internal sealed class Gates
{
    private readonly ConcurrentDictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    public Gate this[string name] => _gates.GetOrAdd(name, static _ => new Gate());
}

/// <summary>One gate: <see cref="Entered"/> completes when a request reaches it (its session loaded); it waits for <see cref="Release"/>.</summary>
internal sealed class Gate
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Entered => _entered.Task;

    public Task Released => _released.Task;

    public void Enter() => _entered.TrySetResult();

    public void Release() => _released.TrySetResult();
}
