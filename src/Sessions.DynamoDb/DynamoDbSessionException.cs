namespace Sessions.DynamoDb;

/// <summary>
/// DynamoDB could not be reached, throttled the request after the SDK's retries, returned an error, or the sessions table
/// is missing or shaped wrongly. The message names the endpoint (<see cref="SessionStoreException.Endpoint"/>: a URL, or
/// the region for AWS's public endpoints) and the table, and says what to check; <see cref="SessionStoreException.ErrorCode"/>
/// is DynamoDB's error code (for example <c>ProvisionedThroughputExceededException</c>) when DynamoDB answered.
/// </summary>
/// <param name="message">What happened and what to do.</param>
/// <param name="innerException">The SDK's exception, if any.</param>
public sealed class DynamoDbSessionException(string message, Exception? innerException = null) : SessionStoreException(message, innerException)
{
    /// <summary>The table involved.</summary>
    public string? Table { get; init; }

    /// <summary>Whether the error was throttling: the table's capacity or the account's request rate was exceeded.</summary>
    public bool IsThrottling { get; init; }
}
