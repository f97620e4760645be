using Grpc.Core;

namespace Sessions.Firestore;

/// <summary>
/// Firestore could not be reached, did not answer within the deadline, refused the credentials, or returned an error; or
/// a record is too large for one document. The message names the endpoint, the database and the setting to check.
/// </summary>
public sealed class FirestoreSessionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FirestoreSessionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened and what to do.</param>
    public FirestoreSessionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The gRPC or credentials exception.</param>
    public FirestoreSessionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The endpoint called: the emulator's <c>host:port</c> or <c>firestore.googleapis.com</c>.</summary>
    public string? Endpoint { get; init; }

    /// <summary>The database, as <c>projects/{project}/databases/{database}</c>.</summary>
    public string? Database { get; init; }

    /// <summary>The gRPC status code Firestore answered with, when it answered (for example <see cref="StatusCode.Unavailable"/>).</summary>
    public StatusCode? StatusCode { get; init; }
}
