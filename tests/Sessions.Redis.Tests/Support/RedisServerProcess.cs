using System.Net;
using System.Net.Sockets;
using System.Text;
using Sessions.Conformance;

namespace Sessions.Redis.Tests.Support;

/// <summary>
/// A server process this test run started on a loopback port: redis-server or Garnet. Readiness is polled (a raw
/// <c>PING</c> until <c>+PONG</c>), never waited out with a fixed sleep; <see cref="Stop"/> kills exactly this PID.
/// </summary>
internal sealed class RedisServerProcess
{
    private readonly ServerProcess _server;

    private RedisServerProcess(string name, int port, ServerProcess server)
    {
        Name = name;
        Port = port;
        _server = server;
    }

    public string Name { get; }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public int? Pid => _server.Pid;

    /// <summary>redis-server with no persistence on a free loopback port; <paramref name="extraArguments"/> appended.</summary>
    public static async Task<RedisServerProcess> StartRedisAsync(string extraArguments = "", int? port = null, string name = "redis-server", bool tlsOnly = false)
    {
        var p = port ?? FreePort();
        List<string> arguments = tlsOnly ? ["--port", "0", "--tls-port", ServerProcess.Arg(p)] : ["--port", ServerProcess.Arg(p)];
        arguments.AddRange(["--bind", "127.0.0.1", "--save", "''", "--appendonly", "no", "--protected-mode", "no"]);
        arguments.AddRange(extraArguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var redis = ServerProcess.FindOnPath("redis-server", "run tools/setup.sh (or apt-get install -y redis-server), or set SESSIONS_TEST_REDIS.");

        // A TLS-only server is ready once it accepts TCP; the TLS handshake is what the tests check.
        var server = await ServerProcess.StartAsync(
            $"{name} on 127.0.0.1:{p}",
            redis,
            arguments,
            tlsOnly ? ct => ServerProcess.AcceptsTcpAsync(p, ct) : ct => AnswersPingAsync(p, ct),
            TimeSpan.FromSeconds(20));
        return new RedisServerProcess(name, p, server);
    }

    /// <summary>Garnet (the dotnet tool in the repository's manifest) with Lua enabled on a free loopback port; transaction
    /// mode makes a script lock its keys, as Redis runs scripts atomically.</summary>
    public static async Task<RedisServerProcess> StartGarnetAsync()
    {
        var p = FreePort();
        var server = await ServerProcess.StartAsync(
            $"garnet on 127.0.0.1:{p}",
            "dotnet",
            ["garnet-server", "--port", ServerProcess.Arg(p), "--bind", "127.0.0.1", "--lua", "--lua-transaction-mode", "-m", "256m", "-i", "16m", "--logger-level", "Warning"],
            ct => AnswersPingAsync(p, ct),
            TimeSpan.FromSeconds(90),
            new Dictionary<string, string> { ["DOTNET_ROLL_FORWARD"] = "Major" },
            RepositoryRoot());
        return new RedisServerProcess("garnet", p, server);
    }

    /// <summary>Starts the process again on the same port (after <see cref="Stop"/>).</summary>
    public async Task<RedisServerProcess> RestartAsync()
    {
        await _server.RestartAsync();
        return this;
    }

    /// <summary>Kills the process this object started (by its PID) and waits for it to exit.</summary>
    public void Stop() => _server.Kill();

    /// <summary>Freezes (<c>SIGSTOP</c>) or thaws (<c>SIGCONT</c>) the process this object started, by its PID: it keeps its
    /// sockets open but answers nothing, like a server stuck in a long command or a paused VM.</summary>
    public void Signal(string signal)
    {
        var pid = Pid ?? throw new InvalidOperationException($"{this} is not running.");
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid} failed with exit code {kill.ExitCode}.");
        }
    }

    public override string ToString() => $"{Name} at {Endpoint} (pid {Pid})";

    /// <summary>A port nothing listens on now, whose cluster bus port (+10000) is free too.</summary>
    public static int FreePort()
    {
        while (true)
        {
            var port = ServerProcess.FreeLoopbackPort();
            if (port < 55000 && IsFree(port + 10000))
            {
                return port;
            }
        }
    }

    public static string RepositoryRoot() => ServerProcess.FindRepositoryRoot(Path.Combine(".config", "dotnet-tools.json"));

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

    private static async Task<bool> AnswersPingAsync(int port, CancellationToken cancellationToken) =>
        (await RawCommandAsync(port, "PING", cancellationToken)).StartsWith("+PONG", StringComparison.Ordinal);

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
}
