using Microsoft.Extensions.Logging;
using Sessions.Diagnostics;

namespace Sessions.Engine;

/// <summary>
/// What a commit does when its conditional write finds the session changed by another request: fail
/// (<see cref="ConcurrencyMode.Fail"/>), or reload and retry with this request's changes merged onto the stored ones
/// (<see cref="ConcurrencyMode.Merge"/>) or over them (last write wins), backing off when the conflicts go on.
/// </summary>
internal sealed class ConflictResolver(SessionOptions options, BackendAccessor backend, SessionRecords records, ILogger logger)
{
    /// <summary>The mode in force.</summary>
    public ConcurrencyMode Mode => options.ConcurrencyMode;

    /// <summary>The conflict of <see cref="ConcurrencyMode.Fail"/>.</summary>
    public static SessionConflictException FailModeConflict() =>
        new("Another request changed this session at the same time, and Sessions:ConcurrencyMode is Fail. Retry the request, or use Merge.");

    /// <summary>After a failed conditional write: reload and prepare the retry. Returns false when the session is gone.</summary>
    /// <exception cref="SessionConflictException">The mode is <see cref="ConcurrencyMode.Fail"/>, or retries ran out.</exception>
    public async ValueTask<bool> ResolveAsync(SessionData session, string key, int attempt, CancellationToken cancellationToken)
    {
        SessionsInstrumentation.Conflicts.Add(1, backend.Tag);
        Log.Conflict(logger, attempt + 1, options.ConcurrencyMode);
        if (options.ConcurrencyMode == ConcurrencyMode.Fail)
        {
            throw FailModeConflict();
        }

        if (attempt >= options.MaxConflictRetries)
        {
            throw new SessionConflictException(
                $"The session kept changing under this request: {attempt + 1} saves in a row conflicted with other requests (Sessions:MaxConflictRetries = {options.MaxConflictRetries}).");
        }

        if (attempt > 0)
        {
            // A second conflict in a row: another app instance is writing this session too (this process's commits of
            // it queue on the commit lock). Back off a little, with jitter, so the contenders stop colliding in lockstep.
            // Real time, not the app's TimeProvider: the wait is about physical contention in the store, and a test's
            // manual clock (which only moves when advanced) must not hold a save forever.
            await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
        }

        var current = await backend.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (records.IsGone(current))
        {
            // Expired, deleted, or moved to a new ID by a regenerate: the session is gone for this request.
            return false;
        }

        if (!records.TryDecodeQuietly(current, out var stored))
        {
            records.ReportCorrupt(key, current);
            return false;
        }

        if (options.ConcurrencyMode == ConcurrencyMode.Merge)
        {
            session.RebaseOnto(stored, current.Version, current.ExpiresAt);
        }
        else
        {
            session.TakeVersion(current.Version, current.ExpiresAt, stored.UserId);
        }

        session.StoredToken = current.ConcurrencyToken;
        return true;
    }

    /// <summary>
    /// The wait before the retry after the <paramref name="attempt"/>-th conflict (1-based after the first): "full jitter",
    /// a random time up to <see cref="SessionOptions.ConflictRetryDelay"/> × 2^(attempt - 1), capped at
    /// <see cref="SessionOptions.MaxConflictRetryDelay"/>, and at least 1/4 of that bound.
    /// </summary>
    public TimeSpan Backoff(int attempt)
    {
        var bound = options.ConflictRetryDelay * Math.Pow(2, Math.Min(attempt - 1, 20));
        if (bound > options.MaxConflictRetryDelay)
        {
            bound = options.MaxConflictRetryDelay;
        }

        return bound * (0.25 + (0.75 * Random.Shared.NextDouble()));
    }
}
