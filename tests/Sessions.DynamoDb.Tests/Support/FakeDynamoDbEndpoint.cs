using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sessions.DynamoDb.Tests.Support;

/// <summary>
/// A loopback HTTP endpoint that answers every DynamoDB request with the same error, counting requests: for throttling and
/// service errors that dynalite cannot produce on demand.
/// </summary>
internal sealed class FakeDynamoDbEndpoint : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _serving;
    private int _requests;

    private FakeDynamoDbEndpoint(int port, int status, string errorType, string message)
    {
        ServiceUrl = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(ServiceUrl + "/");
        _listener.Start();
        var body = Encoding.UTF8.GetBytes($$"""{"__type":"com.amazonaws.dynamodb.v20120810#{{errorType}}","message":"{{message}}"}""");
        _serving = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                Interlocked.Increment(ref _requests);
                context.Response.StatusCode = status;
                context.Response.ContentType = "application/x-amz-json-1.0";
                context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
                context.Response.Headers["x-amzn-ErrorType"] = errorType;
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        });
    }

    public string ServiceUrl { get; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Every request answered 400 ProvisionedThroughputExceededException, as a table over its capacity answers.</summary>
    public static FakeDynamoDbEndpoint Throttling() =>
        new(FreePort(), 400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.");

    /// <summary>Every request answered 500 InternalServerError.</summary>
    public static FakeDynamoDbEndpoint InternalError() => new(FreePort(), 500, "InternalServerError", "Internal server error");

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _serving;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
