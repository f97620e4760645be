namespace Sessions.DynamoDb;

/// <summary>
/// DynamoDB could not be reached, throttled the request after the SDK's retries, returned an error, or the sessions table
/// is missing or shaped wrongly. The message names the endpoint and the table and says what to check.
/// </summary>
public sealed class DynamoDbSessionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DynamoDbSessionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened and what to do.</param>
    public DynamoDbSessionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The SDK's exception.</param>
    public DynamoDbSessionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The table involved.</summary>
    public string? Table { get; init; }

    /// <summary>The endpoint involved: a URL, or the region for AWS's public endpoints.</summary>
    public string? Endpoint { get; init; }

    /// <summary>DynamoDB's error code (for example <c>ProvisionedThroughputExceededException</c>), when DynamoDB answered.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>Whether the error was throttling: the table's capacity or the account's request rate was exceeded.</summary>
    public bool IsThrottling { get; init; }
}
