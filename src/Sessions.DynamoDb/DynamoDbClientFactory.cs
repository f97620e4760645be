using System.Net;
using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;

namespace Sessions.DynamoDb;

/// <summary>Builds the SDK client the backend owns when the application registered none.</summary>
internal static class DynamoDbClientFactory
{
    private const string LocalRegion = "us-east-1";

    public static AmazonDynamoDBClient Create(DynamoDbSessionBackendOptions options)
    {
        var config = new AmazonDynamoDBConfig
        {
            // Standard mode: exponential backoff with jitter, and throttling errors count as retryable.
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = options.MaxRetries,
            Timeout = options.RequestTimeout,
            ConnectTimeout = options.RequestTimeout < TimeSpan.FromSeconds(5) ? options.RequestTimeout : TimeSpan.FromSeconds(5),
        };

        if (options.ServiceUrl is { } url)
        {
            config.ServiceURL = url;
            config.AuthenticationRegion = options.Region ?? LocalRegion;
            return IsLoopback(url) && Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is not { Length: > 0 }
                ? new AmazonDynamoDBClient(new BasicAWSCredentials("local", "local"), config) // local endpoints accept any credentials
                : new AmazonDynamoDBClient(config);
        }

        if (options.Region is { } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        try
        {
            return new AmazonDynamoDBClient(config);
        }
        catch (AmazonClientException e)
        {
            // Without a region or endpoint, the SDK looks in AWS_REGION, the shared config file and instance metadata.
            throw new InvalidOperationException(
                $"The DynamoDB session backend cannot build its client: {e.Message}. Set Sessions:DynamoDb:Region (e.g. \"eu-west-1\"), " +
                "or Sessions:DynamoDb:ServiceUrl for DynamoDB Local or dynalite, or AWS_REGION, or register an IAmazonDynamoDB.", e);
        }
    }

    /// <summary>How to name the client's endpoint in messages: its URL, or its region.</summary>
    public static string Describe(IAmazonDynamoDB client)
    {
        var config = client.Config;
        if (config.ServiceURL is { Length: > 0 } url)
        {
            return url.TrimEnd('/'); // the SDK appends a slash to what the application set
        }

        return config.RegionEndpoint is { } region ? $"https://dynamodb.{region.SystemName}.amazonaws.com (region {region.SystemName})" : "the default AWS region's endpoint";
    }

    private static bool IsLoopback(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip)));
}
