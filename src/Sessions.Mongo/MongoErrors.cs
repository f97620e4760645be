using MongoDB.Bson;
using MongoDB.Driver;

namespace Sessions.Mongo;

/// <summary>Turns what the driver throws into a result or an exception that says what to set.</summary>
internal sealed class MongoErrors(string servers, string database, string collection)
{
    // Server error codes, from the MongoDB manual's "Error Codes" page (src/mongo/base/error_codes.yml).
    public const int Unauthorized = 13;
    public const int AuthenticationFailed = 18;
    public const int DuplicateKey = 11000;
    public const int BsonObjectTooLarge = 10334;

    public string Servers { get; } = servers;

    public string Namespace { get; } = $"{database}.{collection}";

    /// <summary>Whether the server refused a write because a document with the same <c>_id</c> exists (code 11000).</summary>
    public static bool IsDuplicateKey(Exception exception) => ServerCode(exception) == DuplicateKey
        || (exception is MongoWriteException { WriteError.Category: ServerErrorCategory.DuplicateKey });

    /// <summary>The server's error code carried by <paramref name="exception"/>, if any.</summary>
    public static int? ServerCode(Exception exception) => exception switch
    {
        MongoWriteException { WriteError: { } error } => error.Code,
        MongoBulkWriteException { WriteErrors: [{ } first, ..] } => first.Code,
        MongoCommandException command => command.Code,
        _ => null,
    };

    public SessionPayloadTooLargeException PayloadTooLarge(int payloadBytes, Exception? inner = null) => new(
        $"A session record of {payloadBytes} bytes does not fit in one MongoDB document (BSON limit 16 MiB; at most " +
        $"{MongoSessionDocument.MaxPayloadBytes} payload bytes). Keep less in the session, or lower Sessions:MaxPayloadBytes so that the core refuses it first.",
        inner)
    {
        PayloadBytes = payloadBytes,
        MaxPayloadBytes = MongoSessionDocument.MaxPayloadBytes,
    };

    public Exception Translate(Exception exception, string operation, int? payloadBytes = null)
    {
        var code = ServerCode(exception);
        switch (exception)
        {
            case var _ when payloadBytes is { } bytes && (code == BsonObjectTooLarge || IsClientSideTooLarge(exception)):
                return PayloadTooLarge(bytes, exception);

            case MongoAuthenticationException:
            case var _ when code == AuthenticationFailed:
                return Failure(
                    $"MongoDB at {Servers} refused the credentials for the {operation} on {Namespace}: {exception.Message}. " +
                    "Set the user name, password and authSource (the database that holds the user, often 'admin') in Sessions:Mongo:ConnectionString, " +
                    "for example mongodb://user:password@host:27017/?authSource=admin.",
                    exception,
                    code);

            case var _ when code == Unauthorized:
                return Failure(
                    $"MongoDB at {Servers} does not allow this user the {operation} on {Namespace}: {exception.Message}. " +
                    "Grant the user the readWrite role on the database (and, with Sessions:Mongo:CreateIndexes, the createIndex privilege), " +
                    "or set Sessions:Mongo:ConnectionString to a user that has it.",
                    exception,
                    code);

            case TimeoutException when exception.Message.Contains("selecting a server", StringComparison.OrdinalIgnoreCase):
                return Failure(
                    $"No MongoDB server at {Servers} could be selected for the {operation} on {Namespace} within the server selection timeout: " +
                    "is the server running and reachable, and do the host, port, replicaSet and tls settings match it? " +
                    "Check Sessions:Mongo:ConnectionString; add serverSelectionTimeoutMS=... to it to wait longer. Driver: " + exception.Message,
                    exception,
                    code);

            case MongoConnectionException:
                return Failure(
                    $"The connection to MongoDB at {Servers} failed during the {operation} on {Namespace}: {StoreErrors.Innermost(exception).Message}. " +
                    "Is the server running and reachable? Check Sessions:Mongo:ConnectionString.",
                    exception,
                    code);

            case TimeoutException or MongoExecutionTimeoutException or OperationCanceledException:
                return Failure(
                    $"MongoDB at {Servers} did not finish the {operation} on {Namespace} in time: {exception.Message}. " +
                    "Check the server's load; raise socketTimeoutMS or timeoutMS in Sessions:Mongo:ConnectionString if it is slow.",
                    exception,
                    code);

            default:
                return Failure(
                    $"The {operation} on MongoDB {Namespace} at {Servers} failed{(code is { } c ? $" (code {c})" : string.Empty)}: {exception.Message}",
                    exception,
                    code);
        }
    }

    private static bool IsClientSideTooLarge(Exception exception) =>
        exception is FormatException or BsonSerializationException or MongoClientException
        && exception.Message.Contains("larger than", StringComparison.OrdinalIgnoreCase);

    private MongoSessionException Failure(string message, Exception inner, int? code) =>
        new(message, inner) { Endpoint = Servers, Namespace = Namespace, ErrorCode = code };
}
