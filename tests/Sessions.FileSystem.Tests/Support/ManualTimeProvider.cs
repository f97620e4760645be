namespace Sessions.FileSystem.Tests.Support;

/// <summary>A clock that moves only when told to, for expiry tests without sleeps.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
