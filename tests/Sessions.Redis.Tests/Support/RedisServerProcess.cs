using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sessions.Redis.Tests.Support;

/// <summary>
/// A server process this test run started on a loopback port: redis-server or Garnet. Readiness is polled (a raw
/// <c>PING</c> until <c>+PONG</c>), never waited out with a fixed sleep; <see cref="Stop"/> kills exactly this PID.
/// </summary>
internal sealed class RedisServerProcess
{
    private readonly string _fileName;
    private readonly string _arguments;
    private readonly string? _workingDirectory;
    private readonly Dictionary<string, string> _environment;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private RedisServerProcess(string name, int port, string fileName, string arguments, string? workingDirectory, Dictionary<string, string> environment)
    {
        Name = name;
        Port = port;
        _fileName = fileName;
        _arguments = arguments;
        _workingDirectory = workingDirectory;
        _environment = environment;
    }

    public string Name { get; }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public int? Pid => _process?.Id;

    /// <summary>redis-server with no persistence on a free loopback port; <paramref name="extraArguments"/> appended.</summary>
    public static Task<RedisServerProcess> StartRedisAsync(string extraArguments = "", int? port = null, string name = "redis-server", bool tlsOnly = false)
    {
        var p = port ?? FreePort();
        var portArgs = tlsOnly ? $"--port 0 --tls-port {p}" : $"--port {p}";
        var server = new RedisServerProcess(name, p, "redis-server", $"{portArgs} --bind 127.0.0.1 --save '' --appendonly no --protected-mode no {extraArguments}", null, []);
        return server.StartAsync(tlsOnly ? TimeSpan.FromSeconds(20) : TimeSpan.FromSeconds(20), probe: !tlsOnly);
    }

    /// <summary>Garnet (the dotnet tool in the repository's manifest) with Lua enabled on a free loopback port.</summary>
    public static Task<RedisServerProcess> StartGarnetAsync()
    {
        var p = FreePort();
        var server = new RedisServerProcess(
            "garnet",
            p,
            "dotnet",
            $"garnet-server --port {p} --bind 127.0.0.1 --lua -m 256m -i 16m --logger-level Warning",
            RepositoryRoot(),
            new() { ["DOTNET_ROLL_FORWARD"] = "Major" });
        return server.StartAsync(TimeSpan.FromSeconds(90), probe: true);
    }

    /// <summary>Starts the process again on the same port (after <see cref="Stop"/>).</summary>
    public Task<RedisServerProcess> RestartAsync() => StartAsync(TimeSpan.FromSeconds(20), probe: true);

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

    public override string ToString() => $"{Name} at {Endpoint} (pid {Pid})";

    /// <summary>A port nothing listens on now, whose cluster bus port (+10000) is free too.</summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (port < 55000 && IsFree(port + 10000))
            {
                return port;
            }
        }
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, ".config", "dotnet-tools.json")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException($"No .config/dotnet-tools.json above {AppContext.BaseDirectory}.");
    }

    /// <summary>Sends one inline command with a raw socket and returns the first reply line (for readiness and setup).</summary>
    public static async Task<string> RawCommandAsync(int port, string command, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), cancellationToken);
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer, cancellationToken);
        return Encoding.ASCII.GetString(buffer, 0, read).TrimEnd();
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task<RedisServerProcess> StartAsync(TimeSpan timeout, bool probe)
    {
        var info = new ProcessStartInfo(_fileName, _arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (_workingDirectory is not null)
        {
            info.WorkingDirectory = _workingDirectory;
        }

        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }

        lock (_output)
        {
            _output.Clear();
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {_fileName}.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {process.ExitCode} before it was ready: {Output()}");
            }

            if (await IsReadyAsync(probe))
            {
                return this;
            }

            if (DateTime.UtcNow > deadline)
            {
                Stop();
                throw new TimeoutException($"{Name} on port {Port} was not ready within {timeout.TotalSeconds} s: {Output()}");
            }

            await Task.Delay(50); // a poll interval, not a readiness wait: the loop ends as soon as the server answers
        }
    }

    private async Task<bool> IsReadyAsync(bool probe)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (!probe)
            {
                // TLS-only server: readiness is "accepts TCP"; the TLS handshake is the client's test.
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token);
                return true;
            }

            return (await RawCommandAsync(Port, "PING", timeout.Token)).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
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
