namespace Sessions.Diagnostics;

/// <summary>Names of the library's telemetry sources, for configuring OpenTelemetry or <c>dotnet-counters</c>.</summary>
public static class SessionsTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> that publishes session metrics.</summary>
    public const string MeterName = "Sessions";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> that traces backend calls.</summary>
    public const string ActivitySourceName = "Sessions";
}
