using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sessions.Diagnostics;

/// <summary>The library's meter and activity source, and the instruments the engine records into.</summary>
internal static class SessionsInstrumentation
{
    public static readonly ActivitySource ActivitySource = new(SessionsTelemetry.ActivitySourceName, typeof(SessionsInstrumentation).Assembly.GetName().Version?.ToString());
    public static readonly Meter Meter = new(SessionsTelemetry.MeterName, typeof(SessionsInstrumentation).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Loads = Meter.CreateCounter<long>("sessions.loads", "{session}", "Session loads, tagged by result: hit, miss, expired, corrupt.");
    public static readonly Counter<long> Saves = Meter.CreateCounter<long>("sessions.saves", "{session}", "Sessions written (created or updated).");
    public static readonly Counter<long> Touches = Meter.CreateCounter<long>("sessions.touches", "{session}", "Expiry extensions without a payload rewrite.");
    public static readonly Counter<long> Deletes = Meter.CreateCounter<long>("sessions.deletes", "{session}", "Sessions deleted (destroyed, emptied or regenerated away).");
    public static readonly Counter<long> Conflicts = Meter.CreateCounter<long>("sessions.conflicts", "{conflict}", "Saves that found the session changed by another request.");
    public static readonly Counter<long> Corrupt = Meter.CreateCounter<long>("sessions.corrupt_records", "{record}", "Stored records that could not be decoded and were treated as missing.");
    public static readonly Counter<long> IndexHealed = Meter.CreateCounter<long>("sessions.user_index.healed", "{session}", "Bound sessions that found their user's index missing or without them (evicted by the store) and added themselves back.");
    public static readonly Counter<long> Errors = Meter.CreateCounter<long>("sessions.backend.errors", "{error}", "Backend calls that failed.");
    public static readonly Counter<long> LateCommitFailures = Meter.CreateCounter<long>(
        "sessions.late_commit_failures", "{commit}", "Saves of changes made after the response started (MVC's TempData) that failed when the request ended: logged (event 1016), not answered.");
    public static readonly Histogram<double> BackendDuration = Meter.CreateHistogram<double>(
        "sessions.backend.duration", "s", "Duration of backend calls.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });

    /// <summary>Counts a failed commit of late changes (event 1016).</summary>
    public static void CountLateCommitFailure(string backend) => LateCommitFailures.Add(1, new KeyValuePair<string, object?>("sessions.backend", backend));
}
