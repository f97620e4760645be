using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Sessions.Conformance;

namespace Sessions.DynamoDb.Tests.Support;

/// <summary>
/// A dynalite server (tools/dynalite, npm dynalite 4.0.0) this test run started on a free loopback port. Readiness is
/// polled with <c>ListTables</c>, never waited out with a fixed sleep; <see cref="Stop"/> kills exactly this PID.
/// </summary>
internal sealed class DynaliteProcess
{
    private readonly ServerProcess _server;

    private DynaliteProcess(int port, ServerProcess server)
    {
        Port = port;
        _server = server;
    }

    public int Port { get; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    public int? Pid => _server.Pid;

    /// <summary>Starts dynalite (in memory) on a free loopback port and waits until it answers.</summary>
    public static async Task<DynaliteProcess> StartAsync()
    {
        var cli = Path.Combine(RepositoryRoot(), "tools", "dynalite", "node_modules", "dynalite", "cli.js");
        if (!File.Exists(cli))
        {
            throw new InvalidOperationException(
                $"dynalite is not installed ({cli} is missing). Run tools/setup.sh (or SESSIONS_SETUP=dynalite tools/setup.sh), " +
                "which runs `npm ci` in tools/dynalite; or set SESSIONS_TEST_DYNAMODB=http://host:port to use a running endpoint.");
        }

        // The port is free when chosen but could be taken before node binds it: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var port = ServerProcess.FreeLoopbackPort();
            try
            {
                using var client = Client($"http://127.0.0.1:{port}");
                var server = await ServerProcess.StartAsync(
                    $"dynalite on 127.0.0.1:{port}",
                    "node",
                    [cli, "--host", "127.0.0.1", "--port", ServerProcess.Arg(port), "--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50"],
                    async ct => await AnswersAsync(client, ct));
                return new DynaliteProcess(port, server);
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    /// <summary>A client with the dummy credentials and region local endpoints accept, and no retries (tests want errors at once).</summary>
    public static AmazonDynamoDBClient Client(string serviceUrl, int maxRetries = 0) => new(
        new BasicAWSCredentials("test", "test"),
        new AmazonDynamoDBConfig
        {
            ServiceURL = serviceUrl,
            AuthenticationRegion = "us-east-1",
            MaxErrorRetry = maxRetries,
            Timeout = TimeSpan.FromSeconds(30),
        });

    /// <summary>Kills the process this object started (by its PID) and waits for it to exit.</summary>
    public void Stop() => _server.Dispose();

    public override string ToString() => $"dynalite at {ServiceUrl} (pid {Pid})";

    public static string RepositoryRoot() => ServerProcess.FindRepositoryRoot(Path.Combine("tools", "dynalite", "package.json"));

    private static async Task<bool> AnswersAsync(AmazonDynamoDBClient client, CancellationToken cancellationToken)
    {
        try
        {
            await client.ListTablesAsync(new ListTablesRequest(), cancellationToken);
            return true;
        }
        catch (AmazonClientException)
        {
            return false; // not listening yet
        }
    }
}
