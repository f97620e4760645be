using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace Sessions.DynamoDb.Tests.Support;

/// <summary>
/// The DynamoDB endpoint shared by the whole test run: dynalite, started on first use on a loopback port, or the endpoint
/// that <c>SESSIONS_TEST_DYNAMODB</c> (for example <c>http://127.0.0.1:8000</c>) names. Stopped by
/// <see cref="DynaliteLifetime"/> when the run ends. Tests isolate themselves with a table of their own.
/// </summary>
internal static class Dynalite
{
    public const string EnvironmentVariable = "SESSIONS_TEST_DYNAMODB";

    private static readonly Lazy<Task<string>> s_endpoint = new(StartAsync);
    private static readonly Lazy<Task<AmazonDynamoDBClient>> s_client = new(async () => DynaliteProcess.Client(await s_endpoint.Value, maxRetries: 3));
    private static DynaliteProcess? s_started;

    /// <summary>The endpoint's URL.</summary>
    public static Task<string> ServiceUrlAsync() => s_endpoint.Value;

    /// <summary>One client for the run (tests that pass it to backends keep it open: backends do not own it).</summary>
    public static Task<AmazonDynamoDBClient> ClientAsync() => s_client.Value;

    /// <summary>A table name no other test uses.</summary>
    public static string NewTableName(string label) => $"t-{label}-{Guid.NewGuid():N}";

    /// <summary>Creates a sessions table (through a backend with CreateTable) and returns its name.</summary>
    public static async Task<string> NewSessionsTableAsync(string label)
    {
        var table = NewTableName(label);
        await using var backend = new DynamoDbSessionBackend(await ClientAsync(), new DynamoDbSessionBackendOptions { Table = table, CreateTable = true });
        await backend.EnsureTableAsync(CancellationToken.None);
        return table;
    }

    /// <summary>Deletes a table, ignoring one that is already gone; a table still being created is polled until it can go.</summary>
    public static async Task DeleteTableAsync(string table)
    {
        var client = await ClientAsync();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await client.DeleteTableAsync(new DeleteTableRequest { TableName = table });
                return;
            }
            catch (ResourceNotFoundException)
            {
                return;
            }
            catch (ResourceInUseException) when (attempt < 100)
            {
                await Task.Delay(50); // a poll interval: CREATING lasts dynalite's --createTableMs
            }
        }
    }

    public static void Stop()
    {
        s_started?.Stop();
        s_started = null;
        if (s_client.IsValueCreated && s_client.Value.IsCompletedSuccessfully)
        {
            s_client.Value.Result.Dispose();
        }
    }

    private static async Task<string> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } external)
        {
            return external;
        }

        s_started = await DynaliteProcess.StartAsync();
        return s_started.ServiceUrl;
    }
}
