using System.Net;
using System.Net.Sockets;
using Sessions.Conformance;

namespace Sessions.Memcached.Tests.Support;

/// <summary>
/// A memcached server this test run started: <c>memcached -u root -l 127.0.0.1 -p PORT -U 0</c> on a free loopback port,
/// ready once it answers <c>mn</c> (polled, no fixed sleep), stopped by its own process ID.
/// </summary>
internal sealed class MemcachedProcess : IAsyncDisposable
{
    private readonly ServerProcess _server;

    private MemcachedProcess(int port, ServerProcess server)
    {
        Port = port;
        _server = server;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public bool IsRunning => _server.IsRunning;

    /// <summary>Starts memcached on a free port; <paramref name="itemSizeLimit"/> is memcached's <c>-I</c> (for example "2m").</summary>
    public static async Task<MemcachedProcess> StartAsync(string? itemSizeLimit = null)
    {
        var port = ServerProcess.FreeLoopbackPort();
        var memcached = ServerProcess.FindOnPath(
            "memcached",
            "run tools/setup.sh (or apt-get install -y memcached), or set SESSIONS_TEST_MEMCACHED=host:port to use a running server.");
        List<string> arguments = ["-u", "root", "-l", "127.0.0.1", "-p", ServerProcess.Arg(port), "-U", "0", "-m", "256"];
        if (itemSizeLimit is not null)
        {
            arguments.AddRange(["-I", itemSizeLimit]);
        }

        var server = await ServerProcess.StartAsync($"memcached on 127.0.0.1:{port}", memcached, arguments, ct => AnswersNoOpAsync(port, ct));
        return new MemcachedProcess(port, server);
    }

    /// <summary>Starts the server again on the same port (after <see cref="KillAsync"/>).</summary>
    public Task RestartAsync() => _server.RestartAsync();

    /// <summary>Kills the server (by PID) and waits for it to exit.</summary>
    public Task KillAsync() => _server.KillAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private static async Task<bool> AnswersNoOpAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("mn\r\n"u8.ToArray(), cancellationToken);
        var buffer = new byte[4];
        await stream.ReadExactlyAsync(buffer, cancellationToken);
        return buffer.AsSpan().SequenceEqual("MN\r\n"u8);
    }
}
