using Grpc.Core;

namespace Sessions.Firestore;

/// <summary>
/// Firestore could not be reached, did not answer within the deadline, refused the credentials, or returned an error; or
/// a record is too large for one document. The message names the endpoint (<see cref="SessionStoreException.Endpoint"/>:
/// the emulator's <c>host:port</c> or <c>firestore.googleapis.com</c>), the database and the setting to check.
/// </summary>
/// <param name="message">What happened and what to do.</param>
/// <param name="innerException">The gRPC or credentials exception, if any.</param>
public sealed class FirestoreSessionException(string message, Exception? innerException = null) : SessionStoreException(message, innerException)
{
    /// <summary>The database, as <c>projects/{project}/databases/{database}</c>.</summary>
    public string? Database { get; init; }

    /// <summary>
    /// The gRPC status code Firestore answered with, when it answered (for example <see cref="StatusCode.Unavailable"/>);
    /// <see cref="SessionStoreException.ErrorCode"/> holds its name.
    /// </summary>
    public StatusCode? StatusCode
    {
        get => Enum.TryParse<StatusCode>(ErrorCode, out var status) ? status : null;
        init => ErrorCode = value?.ToString();
    }
}
