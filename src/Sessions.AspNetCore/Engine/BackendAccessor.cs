using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using Polly.Timeout;
using Sessions.Backends;
using Sessions.Diagnostics;

namespace Sessions.Engine;

/// <summary>
/// The one way to the backend: every call the engine, the user index and cap, the session manager, the expired-session
/// purger and the health check make goes through here, timed out and guarded by its key's partition's circuit breaker
/// (<see cref="BackendGuard"/>), traced, measured, and with the store's failures wrapped in <see cref="SessionBackendException"/>.
/// </summary>
internal sealed class BackendAccessor
{
    private static readonly Operation Get = new("get", null);
    private static readonly Operation Set = new("set", SessionsInstrumentation.Saves);
    private static readonly Operation Remove = new("remove", SessionsInstrumentation.Deletes);
    private static readonly Operation Touch = new("touch", SessionsInstrumentation.Touches);
    private static readonly Operation Probe = new("probe", null);

    // A sweep or a listing is not a request's call: no per-call timeout, and its failures do not trip the breaker requests rely on.
    private static readonly Operation Purge = new("purge", null, Bounded: false);
    private static readonly Operation List = new("list", null, Bounded: false);

    private readonly ILogger _logger;

    /// <summary>Creates the accessor.</summary>
    /// <param name="backend">The backend.</param>
    /// <param name="name">The backend's name, for metrics, traces, logs and messages.</param>
    /// <param name="options">Validated options: the operation timeout and the circuit breaker.</param>
    /// <param name="logger">Receives the outage log and corrupt-record reports.</param>
    public BackendAccessor(ISessionBackend backend, string name, SessionOptions options, ILogger logger)
    {
        Backend = backend;
        Name = name;
        Tag = new("sessions.backend", name);
        _logger = logger;
        Guard = new BackendGuard(options, name, logger, partitions: backend as ISessionBackendPartitions);
    }

    /// <summary>The backend; for its capabilities (never to call it around this accessor).</summary>
    public ISessionBackend Backend { get; }

    /// <summary>The backend's name, as registered.</summary>
    public string Name { get; }

    /// <summary>The <c>sessions.backend</c> tag of every instrument.</summary>
    public KeyValuePair<string, object?> Tag { get; }

    /// <summary>The timeouts, breakers and outage log.</summary>
    public BackendGuard Guard { get; }

    /// <summary>
    /// Whether <paramref name="ex"/> is the store failing, rather than the library's own verdict (a <see cref="SessionException"/>
    /// such as a corrupt record) or the caller's cancellation: <see cref="SessionStoreException.IsStoreFailure"/>.
    /// </summary>
    public static bool IsBackendFailure(Exception ex, CancellationToken cancellationToken) => SessionStoreException.IsStoreFailure(ex, cancellationToken);

    /// <summary>Reads a record; a record the backend reports corrupt reads as missing (and is reported).</summary>
    /// <exception cref="SessionBackendException">The store failed, timed out, or is known to be down.</exception>
    public ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(Get, key, static (s, ct) => s.Backend.GetAsync(s.Key, ct), (Backend, Key: key), cancellationToken);

    /// <summary>Writes a record if <paramref name="condition"/> holds; whether it was written.</summary>
    /// <exception cref="SessionBackendException">The store failed, timed out, or is known to be down.</exception>
    public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken) =>
        RunAsync(Set, key, static (s, ct) => s.Backend.SetAsync(s.Key, s.Record, s.Condition, ct), (Backend, Key: key, Record: record, Condition: condition), cancellationToken);

    /// <summary>Deletes a record (only at <paramref name="expectedVersion"/> when given); whether one was deleted.</summary>
    /// <exception cref="SessionBackendException">The store failed, timed out, or is known to be down.</exception>
    public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken) =>
        RunAsync(Remove, key, static (s, ct) => s.Backend.RemoveAsync(s.Key, s.ExpectedVersion, ct), (Backend, Key: key, ExpectedVersion: expectedVersion), cancellationToken);

    /// <summary>Moves a record's expiry; whether the record was there.</summary>
    /// <exception cref="SessionBackendException">The store failed, timed out, or is known to be down.</exception>
    public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        RunAsync(Touch, key, static (s, ct) => s.Backend.TouchAsync(s.Key, s.ExpiresAt, ct), (Backend, Key: key, ExpiresAt: expiresAt), cancellationToken);

    /// <summary>Checks that the store answers: the backend's own probe (e.g. Redis PING) if it has one, else a read of <paramref name="absentKey"/>.</summary>
    /// <exception cref="SessionBackendException">The store failed, timed out, or is known to be down.</exception>
    public async ValueTask ProbeAsync(string absentKey, CancellationToken cancellationToken)
    {
        if (Backend is ISessionBackendHealthProbe probe)
        {
            await RunAsync<bool, ISessionBackendHealthProbe>(Probe, null, static async (p, ct) => { await p.ProbeAsync(ct).ConfigureAwait(false); return true; }, probe, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await RunAsync(Probe, absentKey, static (s, ct) => s.Backend.GetAsync(s.Key, ct), (Backend, Key: absentKey), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the expired records of a backend without native expiry; how many it deleted.</summary>
    /// <exception cref="SessionBackendException">The store failed.</exception>
    public ValueTask<long> PurgeExpiredAsync(IExpiredSessionPurger purger, CancellationToken cancellationToken) =>
        RunAsync(Purge, null, static (p, ct) => p.PurgeExpiredAsync(ct), purger, cancellationToken);

    /// <summary>The keys under <paramref name="prefix"/>, from a backend that can list them.</summary>
    /// <exception cref="SessionBackendException">The store failed while listing.</exception>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(ISessionKeyEnumerator enumerator, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var keys = enumerator.EnumerateKeysAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (keys.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await keys.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
                catch (Exception ex) when (IsBackendFailure(ex, cancellationToken))
                {
                    throw Failed(List, ex, null, null);
                }

                yield return keys.Current;
            }
        }
    }

    /// <summary>Counts a load by its result (<c>hit</c>, <c>miss</c>, <c>expired</c>, <c>moved</c>, <c>corrupt</c>).</summary>
    public void CountLoad(string result)
    {
        if (SessionsInstrumentation.Loads.Enabled)
        {
            SessionsInstrumentation.Loads.Add(1, Tag, new("sessions.result", result));
        }
    }

    /// <summary>Reports a record that cannot be read as a session: logged (1001), counted, and then treated as missing.</summary>
    public void ReportCorrupt(string key, int length, byte firstByte)
    {
        Log.CorruptRecord(_logger, key, Name, length, firstByte);
        SessionsInstrumentation.Corrupt.Add(1, Tag);
        CountLoad("corrupt");
    }

    // The one path of every call: timed, traced, guarded, measured, and with failures wrapped.
    private async ValueTask<TResult> RunAsync<TResult, TState>(Operation operation, string? key, Func<TState, CancellationToken, ValueTask<TResult>> call, TState state, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var guard = !operation.Bounded ? null : key is null ? Guard.WholeStore : Guard.For(key);
        using var activity = StartActivity(operation);
        try
        {
            var result = guard is null
                ? await call(state, cancellationToken).ConfigureAwait(false)
                : await guard.ExecuteAsync(call, state, cancellationToken).ConfigureAwait(false);
            Completed(operation, start, guard);
            if (operation.Counter is { } counter && result is true)
            {
                counter.Add(1, Tag);
            }

            return result;
        }
        catch (SessionRecordCorruptException ex) when (ReferenceEquals(operation, Get))
        {
            // The store answered, but with something the backend cannot read: a corrupt record, not an outage.
            Completed(operation, start, guard);
            ReportCorrupt(key!, ex.StoredBytes ?? -1, 0);
            return default!;
        }
        catch (Exception ex) when (IsBackendFailure(ex, cancellationToken))
        {
            throw Failed(operation, ex, activity, guard);
        }
    }

    private Activity? StartActivity(Operation operation)
    {
        if (!SessionsInstrumentation.ActivitySource.HasListeners())
        {
            return null;
        }

        var activity = SessionsInstrumentation.ActivitySource.StartActivity(operation.ActivityName, ActivityKind.Client);
        activity?.SetTag("sessions.backend", Name);
        activity?.SetTag("sessions.operation", operation.Name);
        return activity;
    }

    private void Completed(Operation operation, long start, BackendGuard.Partition? guard)
    {
        guard?.Succeeded();
        if (SessionsInstrumentation.BackendDuration.Enabled)
        {
            SessionsInstrumentation.BackendDuration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, Tag, operation.Tag);
        }
    }

    private SessionBackendException Failed(Operation operation, Exception ex, Activity? activity, BackendGuard.Partition? guard)
    {
        SessionsInstrumentation.Errors.Add(1, Tag, operation.Tag);
        activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
        var failed = guard?.Failed(operation.Name, ex) ?? 0;
        var partition = guard?.Name;
        var message = ex switch
        {
            BrokenCircuitException => $"The session store '{Name}'{(partition is null ? "" : $" (partition {partition}, where this session is stored)")} is known to be down ({failed} calls failed in the last {(guard?.OutageDuration ?? TimeSpan.Zero).TotalSeconds:0.#} s), "
                + $"so {operation.Name} was not attempted; it is probed every {Guard.BreakDuration.TotalMilliseconds:0} ms and used again as soon as it answers.",
            TimeoutRejectedException => $"The session backend '{Name}'{(partition is null ? "" : $" (partition {partition})")} did not answer {operation.Name} within {Guard.OperationTimeout.TotalMilliseconds:0} ms (Sessions:OperationTimeout); the call was abandoned.",
            _ => $"The session backend '{Name}' failed during {operation.Name}: {ex.Message}",
        };
        return new SessionBackendException(message, ex)
        {
            Backend = Name,
            Operation = operation.Name,
        };
    }

    /// <summary>One kind of backend call: its name, the counter of its successes, and whether it runs under the timeout and breaker.</summary>
    private sealed record Operation(string Name, Counter<long>? Counter, bool Bounded = true)
    {
        public string ActivityName { get; } = "sessions." + Name;

        public KeyValuePair<string, object?> Tag { get; } = new("sessions.operation", Name);
    }
}
