using Microsoft.Extensions.Time.Testing;

namespace Sessions.Conformance;

/// <summary>
/// What the kit adds to <see cref="FakeTimeProvider"/> (Microsoft.Extensions.TimeProvider.Testing): a start at the present,
/// since a fake clock starting in 2000 (its default) would hand out cookies and store expiries long past.
/// </summary>
public static class FakeTimeProviders
{
    /// <summary>A fake clock at the current UTC time, rounded down to the whole second so that cookie dates look realistic.</summary>
    /// <returns>The clock; it moves only when advanced, and its timers fire only then.</returns>
    public static FakeTimeProvider StartingNow()
    {
        var now = DateTimeOffset.UtcNow;
        return new FakeTimeProvider(new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero));
    }
}
