namespace Sessions.Backends;

/// <summary>
/// Stores opaque session records by key, with an expiry and a version. This is the whole contract a
/// backend implements; serialization, IDs, timeouts, concurrency and indexes are the core's job.
/// </summary>
/// <remarks>
/// <para>Keys are ASCII strings of at most <see cref="SessionKeys.MaxKeyLength"/> bytes produced by the core.</para>
/// <para>Implementations must be safe for concurrent use. Conditional writes must be atomic: of N concurrent
/// callers passing the same <see cref="SetCondition"/>, exactly one succeeds.</para>
/// <para>A backend that holds connections or files should implement <see cref="IAsyncDisposable"/>; after disposal every
/// call throws <see cref="ObjectDisposedException"/>.</para>
/// <para>Validate a backend with the conformance kit (package <c>Sessions.Conformance</c>).</para>
/// </remarks>
public interface ISessionBackend
{
    /// <summary>Reads the record stored under <paramref name="key"/>.</summary>
    /// <param name="key">The storage key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The record, or <see langword="null"/> when there is none or it has expired. Never an expired record.</returns>
    ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="record"/> under <paramref name="key"/> when <paramref name="condition"/> holds.</summary>
    /// <param name="key">The storage key.</param>
    /// <param name="record">The record to store; its <see cref="SessionRecord.Version"/> is stored as given.</param>
    /// <param name="condition">When to write: always, only if no live record exists, or only if the live record has a given version.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when the record was written; <see langword="false"/> when the condition did not hold.</returns>
    ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken);

    /// <summary>Deletes the record under <paramref name="key"/>.</summary>
    /// <param name="key">The storage key.</param>
    /// <param name="expectedVersion">When not <see langword="null"/>, delete only if the live record has this version.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns><see langword="true"/> when a live record was deleted; <see langword="false"/> when there was none or its version differed.</returns>
    ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken);

    /// <summary>Moves the expiry of a live record to <paramref name="expiresAt"/> without changing its payload or version.</summary>
    /// <param name="key">The storage key.</param>
    /// <param name="expiresAt">The new absolute expiry.</param>
    /// <param name="cancellationToken">Cancels the touch.</param>
    /// <returns><see langword="true"/> when a live record was found and touched; otherwise <see langword="false"/>.</returns>
    ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken);
}
