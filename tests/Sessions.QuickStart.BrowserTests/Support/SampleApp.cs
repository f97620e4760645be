using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using NUnit.Framework;

namespace Sessions.QuickStart.BrowserTests.Support;

/// <summary>
/// A sample app under samples/ (QuickStart, BlazorApp), started as a child process (<c>dotnet QuickStart.dll --urls ...</c>)
/// on a free loopback port, on the FileSystem backend in a fresh temporary directory unless the environment given says
/// otherwise. It builds nothing: the project references build the apps before the tests, in the same configuration.
/// </summary>
internal sealed class SampleApp : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly string _sessionsDirectory;
    private readonly string _name;
    private readonly string _readyPath;

    private SampleApp(string name, string readyPath, Process process, StringBuilder output, string sessionsDirectory, Uri baseUrl)
    {
        _name = name;
        _readyPath = readyPath;
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

    /// <summary>Starts <paramref name="name"/> and waits until <c>GET</c> <paramref name="readyPath"/> answers 200.</summary>
    /// <param name="name">The sample's folder and assembly name.</param>
    /// <param name="readyPath">A path that answers 200 once the app serves.</param>
    /// <param name="environment">Settings on top of the FileSystem defaults (<c>Sessions__Backend</c>, ...).</param>
    public static async Task<SampleApp> StartAsync(string name = "QuickStart", string readyPath = "plain", IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = FindAppDll(name);
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
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var output = new StringBuilder();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var app = new SampleApp(name, readyPath, process, output, sessionsDirectory, baseUrl);
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
                throw new InvalidOperationException($"{_name} exited with code {_process.ExitCode} before it answered. Its output:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(_readyPath);
                if (response.IsSuccessStatusCode)
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
                throw new TimeoutException($"{_name} did not answer GET {BaseUrl}{_readyPath} within {s_startTimeout.TotalSeconds} s. Its output:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    // tests/Sessions.QuickStart.BrowserTests/bin/<Configuration>/net10.0/ -> samples/<name>/bin/<Configuration>/net10.0/<name>.dll
    private static string FindAppDll(string name)
    {
        var configuration = typeof(SampleApp).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Sessions.slnx")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            Assert.Fail($"Cannot find the repository root (the folder holding Sessions.slnx) above {AppContext.BaseDirectory}.");
        }

        var dll = Path.Combine(root!.FullName, "samples", name, "bin", configuration, "net10.0", $"{name}.dll");
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
