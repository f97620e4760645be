using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;

namespace Sessions.DynamoDb.Tests.Support;

/// <summary>
/// A dynalite server (tools/dynalite, npm dynalite 4.0.0) this test run started on a free loopback port. Readiness is
/// polled with <c>ListTables</c>, never waited out with a fixed sleep; <see cref="Stop"/> kills exactly this PID.
/// </summary>
internal sealed class DynaliteProcess
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private readonly StringBuilder _output = new();
    private Process? _process;

    private DynaliteProcess(int port) => Port = port;

    public int Port { get; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    public int? Pid => _process?.Id;

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
            var server = new DynaliteProcess(FreePort());
            try
            {
                await server.StartAsync(cli);
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                server.Stop();
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
    public void Stop()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
    }

    public override string ToString() => $"dynalite at {ServiceUrl} (pid {Pid})";

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tools", "dynalite", "package.json")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException($"No tools/dynalite/package.json above {AppContext.BaseDirectory}.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StartAsync(string cli)
    {
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { cli, "--host", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50" })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start node.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var client = Client(ServiceUrl);
        var started = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"dynalite exited with code {process.ExitCode} before it was ready: {Output()}");
            }

            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.ListTablesAsync(new ListTablesRequest(), timeout.Token);
                return;
            }
            catch (Exception e) when (e is AmazonClientException or HttpRequestException or SocketException or OperationCanceledException)
            {
                // not listening yet
            }

            if (started.Elapsed > s_startTimeout)
            {
                Stop();
                throw new TimeoutException($"dynalite on port {Port} did not answer ListTables within {s_startTimeout.TotalSeconds} s: {Output()}");
            }

            await Task.Delay(50); // a poll interval, not a readiness wait: the loop ends as soon as the server answers
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 20_000)
            {
                _output.AppendLine(line);
            }
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }
}
