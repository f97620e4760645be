using Grpc.Core;

namespace Sessions.Firestore;

/// <summary>Turns what gRPC and the credentials library throw into a <see cref="FirestoreSessionException"/> that says what to do.</summary>
internal sealed class FirestoreErrors(string endpoint, string database, bool isEmulator, TimeSpan callTimeout)
{
    public string Endpoint { get; } = endpoint;

    public string Database { get; } = database;

    public FirestoreSessionException TooLarge(string key, int payloadBytes, int maxPayloadBytes) => new(
        $"A session record of {payloadBytes} bytes does not fit in one Firestore document (limit 1 MiB; at most {maxPayloadBytes} payload bytes " +
        $"under key '{key}'). Keep less in the session, or lower Sessions:MaxPayloadBytes so that the core refuses it first.")
    {
        Endpoint = Endpoint,
        Database = Database,
        StatusCode = Grpc.Core.StatusCode.InvalidArgument,
    };

    public FirestoreSessionException Translate(Exception exception, string operation)
    {
        var where = $"Firestore at {Endpoint} (database {Database})";
        var setting = isEmulator
            ? "Is the emulator running there? Set Sessions:Firestore:EmulatorHost (or FIRESTORE_EMULATOR_HOST) to its host:port."
            : "Check the network path to firestore.googleapis.com, or set Sessions:Firestore:EmulatorHost to use an emulator.";
        // With ThrowOperationCanceledOnCancellation, a passed deadline surfaces as OperationCanceledException (the caller's
        // own cancellation is never translated: see StoreErrors.ShouldWrap).
        var status = exception is RpcException rpc ? rpc.Status : exception is OperationCanceledException ? new Status(Grpc.Core.StatusCode.DeadlineExceeded, "deadline exceeded") : (Status?)null;
        if (status is { } s)
        {
            var detail = s.Detail.TrimEnd('.', ' ');
            var message = s.StatusCode switch
            {
                StatusCode.Unavailable =>
                    $"{where} is unavailable for the {operation}: {detail}. {setting}",
                StatusCode.DeadlineExceeded =>
                    $"{where} did not answer the {operation} within {callTimeout.TotalMilliseconds:0} ms (Sessions:Firestore:CallTimeout; " +
                    $"Sessions:Firestore:QueryTimeout for listings and purges). {setting} Raise the timeout if Firestore is merely slow.",
                StatusCode.Unauthenticated =>
                    $"{where} refused the credentials for the {operation}: {detail}. Set Sessions:Firestore:CredentialsPath to a " +
                    "service-account key file, or set up Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS).",
                StatusCode.PermissionDenied =>
                    $"{where} denied the {operation}: {detail}. Grant the service account the Cloud Datastore User role " +
                    "(roles/datastore.user) on the project, or check Sessions:Firestore:ProjectId.",
                StatusCode.ResourceExhausted =>
                    $"{where} refused the {operation} for lack of quota: {detail}. Retry later or raise the project's quota.",
                StatusCode.NotFound or StatusCode.FailedPrecondition when s.Detail.Contains("database", StringComparison.OrdinalIgnoreCase) =>
                    $"{where} has no usable database for the {operation}: {detail}. Create a Firestore database in Native mode, " +
                    "or set Sessions:Firestore:ProjectId and Sessions:Firestore:DatabaseId.",
                _ => $"{where} failed the {operation}: {s.StatusCode}: {detail}",
            };
            return new FirestoreSessionException(message, exception) { Endpoint = Endpoint, Database = Database, StatusCode = s.StatusCode };
        }

        if (exception is InvalidOperationException or IOException or System.Net.Http.HttpRequestException && !isEmulator)
        {
            return new FirestoreSessionException(
                $"Could not get Google credentials for the {operation} against {where}: {exception.Message}. Set Sessions:Firestore:CredentialsPath " +
                "to a service-account key file, or set up Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS).",
                exception)
            {
                Endpoint = Endpoint,
                Database = Database,
            };
        }

        return new FirestoreSessionException($"The {operation} against {where} failed: {exception.Message}", exception) { Endpoint = Endpoint, Database = Database };
    }
}
