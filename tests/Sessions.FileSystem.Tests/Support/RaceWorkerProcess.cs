using System.Diagnostics;
using System.Text;
using NUnit.Framework;

namespace Sessions.FileSystem.Tests.Support;

/// <summary>
/// One running instance of Sessions.FileSystem.Tests.RaceWorker (a separate OS process, copied next to the tests by the
/// project reference), talked to over stdin and stdout.
/// </summary>
internal sealed class RaceWorkerProcess : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private RaceWorkerProcess(Process process) => _process = process;

    public static RaceWorkerProcess Start(params string[] arguments)
    {
        var worker = Path.Combine(AppContext.BaseDirectory, "Sessions.FileSystem.Tests.RaceWorker.dll");
        Assert.That(worker, Does.Exist, "The race worker was not copied next to the tests; is its ProjectReference in the test project?");

        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(worker);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName} {worker}.");
        var result = new RaceWorkerProcess(process);
        process.ErrorDataReceived += (_, e) =>
        {
            lock (result._stderr)
            {
                result._stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        return result;
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Reads the worker's next line of output, failing the test if none comes in time.</summary>
    public async Task<string> ReadLineAsync()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        var line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null)
        {
            await _process.WaitForExitAsync(timeout.Token);
            Assert.Fail($"The race worker exited with code {_process.ExitCode} before writing the expected line. Its stderr:\n{StandardError}");
        }

        return line!;
    }

    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits for the worker to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    // The dotnet host that runs these tests; DOTNET_HOST_PATH is set by the dotnet CLI for the processes it starts.
    private static string DotnetHost()
    {
        var fromCli = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromCli) && File.Exists(fromCli))
        {
            return fromCli;
        }

        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
