using System.Diagnostics.CodeAnalysis;

namespace Sessions;

/// <summary>
/// What a backend needs to turn its store client's exceptions into a <see cref="SessionStoreException"/>: which ones to wrap
/// (<see cref="ShouldWrap"/>, built on the one outage rule <see cref="SessionStoreException.IsStoreFailure"/>) and where
/// the cause sits in the chain of inner exceptions.
/// </summary>
public static class StoreErrors
{
    /// <summary>
    /// Whether a backend should wrap <paramref name="exception"/> in its <see cref="SessionStoreException"/>: a store failure
    /// (<see cref="SessionStoreException.IsStoreFailure"/>) that is not already a store error, nor a misuse the caller must
    /// see as it is (<see cref="ObjectDisposedException"/> for a disposed backend, <see cref="ArgumentException"/>).
    /// </summary>
    /// <param name="exception">What a store call threw.</param>
    /// <param name="cancellationToken">The token the caller passed to that call: its own cancellation is never wrapped.</param>
    /// <returns><see langword="true"/> when the backend should wrap <paramref name="exception"/>.</returns>
    public static bool ShouldWrap(Exception exception, CancellationToken cancellationToken) =>
        SessionStoreException.IsStoreFailure(exception, cancellationToken)
        && exception is not SessionStoreException and not ObjectDisposedException and not ArgumentException;

    /// <summary>The first exception of type <typeparamref name="T"/> in <paramref name="exception"/>'s chain of inner exceptions, itself included.</summary>
    /// <typeparam name="T">The exception type looked for.</typeparam>
    /// <param name="exception">Where the chain starts; <see langword="null"/> for none.</param>
    /// <returns>The exception found, or <see langword="null"/>.</returns>
    public static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The innermost exception of <paramref name="exception"/>'s chain: usually the one whose message says what really failed (a refused socket, a DNS miss).</summary>
    /// <param name="exception">Where the chain starts; <see langword="null"/> for none.</param>
    /// <returns>The last inner exception, <paramref name="exception"/> itself when it has none, or <see langword="null"/>.</returns>
    [return: NotNullIfNotNull(nameof(exception))]
    public static Exception? Innermost(Exception? exception)
    {
        var e = exception;
        while (e?.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
