using System.Net.Sockets;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;

namespace Sessions.DynamoDb;

/// <summary>Turns what the SDK throws, after its own retries, into a <see cref="DynamoDbSessionException"/> that says what to do.</summary>
internal sealed class DynamoDbErrors(string table, string endpoint)
{
    private static readonly HashSet<string> s_throttlingCodes = new(StringComparer.Ordinal)
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    };

    public string Table { get; } = table;

    public string Endpoint { get; } = endpoint;

    public DynamoDbSessionException TableMissing(Exception? inner = null) => Failure(
        $"DynamoDB table '{Table}' does not exist at {Endpoint}; create it (partition key 'pk', type String, no sort key) or set Sessions:DynamoDb:CreateTable=true.",
        inner,
        "ResourceNotFoundException");

    public DynamoDbSessionException WrongKeySchema(string actual) => Failure(
        $"DynamoDB table '{Table}' at {Endpoint} has the key schema {actual}, but sessions need a single String partition key named " +
        $"'{SessionItem.KeyAttribute}' and no sort key. Point Sessions:DynamoDb:Table at another table, or create one with that key " +
        "(or let Sessions:DynamoDb:CreateTable=true create it under a new name).");

    public DynamoDbSessionException PayloadTooLarge(string key, int payloadBytes) => Failure(
        $"A session record of {payloadBytes} bytes does not fit in one DynamoDB item (limit 400 KB; at most {SessionItem.MaxPayloadBytes(key.Length)} " +
        "payload bytes under this key). Keep less in the session, or lower Sessions:MaxPayloadBytes so that the core refuses it first.",
        code: "ItemTooLarge");

    public DynamoDbSessionException Translate(Exception exception, string operation)
    {
        switch (exception)
        {
            case ResourceNotFoundException:
                return TableMissing(exception);

            case AmazonServiceException service when service.ErrorCode is { } code && s_throttlingCodes.Contains(code):
                return Failure(
                    $"DynamoDB at {Endpoint} throttled the {operation} on table '{Table}' ({code}) and the SDK's retries did not get through. " +
                    "Raise the table's capacity or switch it to on-demand billing; a burst of traffic may also settle by itself.",
                    exception,
                    code,
                    throttling: true);

            case AmazonServiceException service when service.StatusCode != 0 && service.ErrorCode is not null:
                return Failure(
                    $"DynamoDB at {Endpoint} refused the {operation} on table '{Table}': {service.ErrorCode} (HTTP {(int)service.StatusCode}): {service.Message}",
                    exception,
                    service.ErrorCode);

            case OperationCanceledException or TimeoutException:
                return Failure(
                    $"DynamoDB at {Endpoint} did not answer the {operation} on table '{Table}' in time, after the SDK's retries. " +
                    "Check that the endpoint is reachable; raise Sessions:DynamoDb:RequestTimeout if it is slow.",
                    exception);

            default:
                var unreachable = StoreErrors.Find<SocketException>(exception) is not null || StoreErrors.Find<HttpRequestException>(exception) is not null;
                return Failure(
                    unreachable
                        ? $"Could not reach DynamoDB at {Endpoint} for the {operation} on table '{Table}': {StoreErrors.Innermost(exception).Message}. " +
                          "Is the endpoint running and reachable? Set Sessions:DynamoDb:ServiceUrl or Sessions:DynamoDb:Region."
                        : $"The {operation} on DynamoDB table '{Table}' at {Endpoint} failed: {exception.Message}",
                    exception,
                    (exception as AmazonServiceException)?.ErrorCode);
        }
    }

    public DynamoDbSessionException Failure(string message, Exception? inner = null, string? code = null, bool throttling = false) =>
        new(message, inner) { Table = Table, Endpoint = Endpoint, ErrorCode = code, IsThrottling = throttling };
}
