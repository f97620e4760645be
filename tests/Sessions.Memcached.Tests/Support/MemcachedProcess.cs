using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;

namespace Sessions.Memcached.Tests.Support;

/// <summary>
/// A memcached server this test run started: <c>memcached -u root -l 127.0.0.1 -p PORT -U 0</c> on a free loopback port,
/// ready once it answers <c>mn</c> (polled, no fixed sleep), stopped by its own process ID.
/// </summary>
internal sealed class MemcachedProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(15);
    private readonly string? _itemSizeLimit;
    private readonly StringBuilder _stderr = new();
    private Process? _process;

    private MemcachedProcess(int port, string? itemSizeLimit)
    {
        Port = port;
        _itemSizeLimit = itemSizeLimit;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts memcached on a free port; <paramref name="itemSizeLimit"/> is memcached's <c>-I</c> (for example "2m").</summary>
    public static async Task<MemcachedProcess> StartAsync(string? itemSizeLimit = null)
    {
        var server = new MemcachedProcess(FreePort(), itemSizeLimit);
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts the server again on the same port (after <see cref="KillAsync"/>).</summary>
    public async Task RestartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var start = new ProcessStartInfo(FindMemcached())
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-u", "root", "-l", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "0", "-m", "256" })
        {
            start.ArgumentList.Add(arg);
        }

        if (_itemSizeLimit is not null)
        {
            start.ArgumentList.Add("-I");
            start.ArgumentList.Add(_itemSizeLimit);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null for memcached.");
        process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;
        await WaitUntilReadyAsync(process);
    }

    /// <summary>Kills the server (SIGKILL, by PID) and waits for it to exit.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process && !process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        _process = null;
    }

    private async Task WaitUntilReadyAsync(Process process)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                Assert.Fail($"memcached on port {Port} exited with code {process.ExitCode} before answering: {Stderr()}");
            }

            if (await AnswersNoOpAsync())
            {
                return;
            }

            if (deadline.Elapsed > s_readyTimeout)
            {
                Assert.Fail($"memcached on port {Port} did not answer mn within {s_readyTimeout.TotalSeconds:0} s: {Stderr()}");
            }

            await Task.Delay(20);
        }
    }

    private async Task<bool> AnswersNoOpAsync()
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("mn\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[4];
            var read = 0;
            while (read < 4)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token);
                if (n == 0)
                {
                    return false;
                }

                read += n;
            }

            return buffer.AsSpan().SequenceEqual("MN\r\n"u8);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private string Stderr()
    {
        lock (_stderr)
        {
            return _stderr.Length == 0 ? "(no output)" : _stderr.ToString().Trim();
        }
    }

    private static string FindMemcached()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator).Append("/usr/bin").Append("/usr/local/bin"))
        {
            var candidate = Path.Combine(dir, "memcached");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail("memcached is not installed; run tools/setup.sh (or apt-get install -y memcached), or set SESSIONS_TEST_MEMCACHED=host:port to use a running server.");
        return null!;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
