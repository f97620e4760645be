using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sessions.Conformance;

/// <summary>
/// A real server that a test run starts itself, as a child process on a loopback port: started, polled until it answers
/// (no fixed sleeps), and killed by its own process ID. Backend test projects use it for redis-server, memcached, dynalite
/// and the like.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable, IDisposable
{
    private const int MaxOutputChars = 20_000;
    private readonly ProcessStartInfo _startInfo;
    private readonly Func<CancellationToken, Task<bool>> _isReady;
    private readonly TimeSpan _readyTimeout;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private ServerProcess(string name, ProcessStartInfo startInfo, Func<CancellationToken, Task<bool>> isReady, TimeSpan readyTimeout)
    {
        Name = name;
        _startInfo = startInfo;
        _isReady = isReady;
        _readyTimeout = readyTimeout;
    }

    /// <summary>A short name for messages, such as <c>redis-server on 127.0.0.1:6380</c>.</summary>
    public string Name { get; }

    /// <summary>The process ID, while it runs.</summary>
    public int? Pid => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Whether the process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>What the process wrote to standard output and error (the first 20,000 characters), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.Length == 0 ? "(no output)" : _output.ToString().Trim();
            }
        }
    }

    /// <summary>Starts a server and waits until <paramref name="isReady"/> says it answers.</summary>
    /// <param name="name">A short name for messages.</param>
    /// <param name="fileName">The executable (see <see cref="FindOnPath"/>).</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="isReady">A probe that returns <see langword="true"/> once the server answers (see <see cref="AcceptsTcpAsync"/>); polled every 25 ms.</param>
    /// <param name="readyTimeout">How long to wait for readiness; default 30 s.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <param name="workingDirectory">The working directory; <see langword="null"/> for the current one.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="InvalidOperationException">The process exited, or did not answer in time; the message includes its output.</exception>
    public static async Task<ServerProcess> StartAsync(
        string name,
        string fileName,
        IEnumerable<string> arguments,
        Func<CancellationToken, Task<bool>> isReady,
        TimeSpan? readyTimeout = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(isReady);
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var server = new ServerProcess(name, startInfo, isReady, readyTimeout ?? TimeSpan.FromSeconds(30));
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts the process again with the same command line (after <see cref="KillAsync"/>); does nothing while it runs.</summary>
    /// <returns>A task that completes when the server answers.</returns>
    public async Task RestartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        _process?.Dispose();
        var process = Process.Start(_startInfo) ?? throw new InvalidOperationException($"{Name}: Process.Start returned no process.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var started = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {process.ExitCode} before it answered: {Output}");
            }

            using (var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
            {
                try
                {
                    if (await _isReady(attempt.Token))
                    {
                        return;
                    }
                }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or HttpRequestException)
                {
                    // Not answering yet.
                }
            }

            if (started.Elapsed > _readyTimeout)
            {
                await KillAsync();
                throw new InvalidOperationException($"{Name} did not answer within {_readyTimeout.TotalSeconds:0} s: {Output}");
            }

            await Task.Delay(25); // the poll interval: the loop ends as soon as the server answers
        }
    }

    /// <summary>Kills the process (by its own PID, with its children) and waits until it has exited.</summary>
    /// <returns>A task that completes when the process is gone.</returns>
    public async Task KillAsync()
    {
        if (_process is { } process && !process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Kills the process and releases it.</summary>
    /// <returns>A task that completes when the process is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        _process = null;
    }

    /// <summary>Kills the process (by its own PID, with its children) and waits up to 10 s for it to exit, synchronously.</summary>
    public void Kill()
    {
        if (_process is { } process && !process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
    }

    /// <summary>Kills the process and releases it, synchronously (for teardown code that cannot await).</summary>
    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        _process = null;
    }

    /// <inheritdoc />
    public override string ToString() => Pid is { } pid ? $"{Name} (pid {pid})" : Name;

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    /// <returns>The port.</returns>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The full path of an executable on PATH (or in /usr/bin, /usr/sbin, /usr/local/bin).</summary>
    /// <param name="name">The executable's name.</param>
    /// <param name="installHint">What to do when it is missing, for the exception message.</param>
    /// <returns>The path.</returns>
    /// <exception cref="FileNotFoundException">It is not installed.</exception>
    public static string FindOnPath(string name, string installHint)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]);
        foreach (var directory in directories)
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{name} is not installed: {installHint}", name);
    }

    /// <summary>The repository folder above the test assembly that contains <paramref name="relativePath"/>.</summary>
    /// <param name="relativePath">A file the repository root holds, such as <c>tools/dynalite/package.json</c>.</param>
    /// <returns>The repository root.</returns>
    /// <exception cref="DirectoryNotFoundException">No folder above the test assembly holds it.</exception>
    public static string FindRepositoryRoot(string relativePath)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, relativePath)))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No folder above {AppContext.BaseDirectory} holds {relativePath}.");
    }

    /// <summary>A readiness probe for servers that are ready once they accept a TCP connection.</summary>
    /// <param name="port">The loopback port.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>Whether a connection was accepted.</returns>
    public static async Task<bool> AcceptsTcpAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        return true;
    }

    /// <summary>Formats a port for a command line.</summary>
    /// <param name="port">The port.</param>
    /// <returns>The port in invariant digits.</returns>
    public static string Arg(int port) => port.ToString(CultureInfo.InvariantCulture);

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < MaxOutputChars)
            {
                _output.AppendLine(line);
            }
        }
    }
}
