using System.Diagnostics;
using System.Text;
using NUnit.Framework;

namespace Sessions.Packaging.Tests;

/// <summary>Runs git and dotnet as a developer would, in a clean environment, and fails with their output.</summary>
internal static class Cli
{
    /// <summary>Runs <paramref name="file"/> to completion; fails the test (with the output) on a non-zero exit or a time-out.</summary>
    public static string Run(string file, string arguments, string workingDirectory, TimeSpan timeout)
    {
        using var process = Start(file, arguments, workingDirectory, out var output);
        if (!process.WaitForExit(timeout))
        {
            Kill(process);
            Assert.Fail($"`{file} {arguments}` (in {workingDirectory}) did not finish within {timeout.TotalSeconds:0} s.\n{Tail(output)}");
        }

        process.WaitForExit(); // drains the redirected output
        if (process.ExitCode != 0)
        {
            Assert.Fail($"`{file} {arguments}` (in {workingDirectory}) exited with {process.ExitCode}.\n{Tail(output)}");
        }

        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>Starts a long-running process (a web app); the caller stops it with <see cref="Kill"/>.</summary>
    public static Process Start(string file, string arguments, string workingDirectory, out StringBuilder output)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };

        // The test host runs inside `dotnet test`, whose MSBuild and test-platform variables would leak into the nested
        // builds and test runs (and change what they do); a developer's shell has none of them.
        foreach (var name in info.Environment.Keys.ToList())
        {
            if (name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
                || name.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase))
            {
                info.Environment.Remove(name);
            }
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        info.Environment["DOTNET_GENERATE_ASPNET_CERTIFICATE"] = "false";
        // One build at a time on a shared machine, and no MSBuild nodes left behind after the test.
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";

        var buffer = new StringBuilder();
        output = buffer;
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(buffer, e.Data);
        process.ErrorDataReceived += (_, e) => Append(buffer, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        TestContext.Progress.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {file} {arguments}");
        return process;
    }

    /// <summary>Stops a process this test started, with its children.</summary>
    public static void Kill(Process process)
    {
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
            // already gone
        }
    }

    /// <summary>The last part of a process's output, enough to see why it failed.</summary>
    public static string Tail(StringBuilder output)
    {
        lock (output)
        {
            var text = output.ToString();
            return text.Length <= 12_000 ? text : "...\n" + text[^12_000..];
        }
    }

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (buffer)
        {
            buffer.AppendLine(line);
        }
    }
}
