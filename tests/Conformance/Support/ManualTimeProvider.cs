namespace Sessions.Conformance;

/// <summary>
/// A clock that moves only when a test moves it (Microsoft.Extensions.TimeProvider.Testing is not available here).
/// Timers still run on real time: sessions only need <see cref="GetUtcNow"/> to decide expiry. Thread-safe. Backend test
/// projects can use it for their own expiry tests.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset _now;

    /// <summary>Starts at the current UTC time, rounded down to the second, so cookie dates look realistic.</summary>
    public ManualTimeProvider()
    {
        var now = DateTimeOffset.UtcNow;
        _now = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    /// <summary>Starts at <paramref name="start"/>.</summary>
    /// <param name="start">The first time the clock reports.</param>
    public ManualTimeProvider(DateTimeOffset start) => _now = start.ToUniversalTime();

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    /// <summary>Moves the clock forward.</summary>
    /// <param name="by">How far; not negative.</param>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        lock (_lock)
        {
            _now += by;
        }
    }
}
