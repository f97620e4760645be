using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using NUnit.Framework;

namespace Sessions.QuickStart.BrowserTests.Support;

/// <summary>
/// The QuickStart app, started once for the whole assembly as a child process (<c>dotnet QuickStart.dll --urls ...</c>)
/// on a free loopback port, with its sessions in a fresh temporary directory. It builds nothing: the project reference
/// builds the app before the tests, in the same configuration.
/// </summary>
internal sealed class QuickStartApp : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly string _sessionsDirectory;

    private QuickStartApp(Process process, StringBuilder output, string sessionsDirectory, Uri baseUrl)
    {
        _process = process;
        _output = output;
        _sessionsDirectory = sessionsDirectory;
        BaseUrl = baseUrl;
    }

    /// <summary>Where the app listens, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>What the app wrote to stdout and stderr so far, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<QuickStartApp> StartAsync()
    {
        var dll = FindAppDll();
        var port = FreeLoopbackPort();
        var baseUrl = new Uri($"http://127.0.0.1:{port}/");
        var sessionsDirectory = Directory.CreateTempSubdirectory("quickstart-browser-tests-").FullName;

        var start = new ProcessStartInfo("dotnet")
        {
            // The app's folder as working directory, so its appsettings.json is the configuration in force.
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseUrl.GetLeftPart(UriPartial.Authority));
        start.Environment["Sessions__Backend"] = "filesystem";
        start.Environment["Sessions__FileSystem__Directory"] = sessionsDirectory;
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("ASPNETCORE_HTTP_PORTS");
        start.Environment.Remove("ASPNETCORE_HTTPS_PORTS");

        var output = new StringBuilder();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var app = new QuickStartApp(process, output, sessionsDirectory, baseUrl);
        try
        {
            await app.WaitUntilReadyAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // Our own child, by its PID (the Process object); nothing else is touched.
            _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_sessionsDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is harmless.
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"QuickStart exited with code {_process.ExitCode} before it answered. Its output:\n{Output}");
            }

            try
            {
                if (await http.GetStringAsync("plain") == "ok")
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (deadline.Elapsed > s_startTimeout)
            {
                throw new TimeoutException($"QuickStart did not answer GET {BaseUrl}plain within {s_startTimeout.TotalSeconds} s. Its output:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    // tests/Sessions.QuickStart.BrowserTests/bin/<Configuration>/net10.0/ -> samples/QuickStart/bin/<Configuration>/net10.0/QuickStart.dll
    private static string FindAppDll()
    {
        var configuration = typeof(QuickStartApp).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Sessions.slnx")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            Assert.Fail($"Cannot find the repository root (the folder holding Sessions.slnx) above {AppContext.BaseDirectory}.");
        }

        var dll = Path.Combine(root!.FullName, "samples", "QuickStart", "bin", configuration, "net10.0", "QuickStart.dll");
        if (!File.Exists(dll))
        {
            Assert.Fail($"{dll} does not exist. Build the tests (which builds the app through its project reference) in the same configuration: dotnet build -c {configuration} tests/Sessions.QuickStart.BrowserTests");
        }

        return dll;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
