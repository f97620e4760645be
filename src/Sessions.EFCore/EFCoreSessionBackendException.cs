namespace Sessions.EFCore;

/// <summary>
/// The database failed in a way the backend could not retry safely: for example the connection broke while a conditional
/// write was running, so whether it was applied is unknown. The inner exception is the provider's;
/// <see cref="SessionStoreException.Endpoint"/> names the database.
/// </summary>
/// <param name="message">What happened and what to do.</param>
/// <param name="innerException">The provider's exception, if any.</param>
public sealed class EFCoreSessionBackendException(string message, Exception? innerException = null) : SessionStoreException(message, innerException)
{
    /// <summary>
    /// <see langword="true"/> when the statement may or may not have been applied (the connection broke while it ran);
    /// <see langword="false"/> when it certainly was not.
    /// </summary>
    public bool OutcomeUnknown { get; init; }

    /// <summary>The operation that failed: <c>get</c>, <c>set</c>, <c>remove</c>, <c>touch</c>, <c>purge</c>, <c>enumerate</c> or <c>probe</c>.</summary>
    public string? Operation { get; init; }
}
