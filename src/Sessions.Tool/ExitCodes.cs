namespace Sessions.Tool;

/// <summary>The tool's exit codes (documented in README.md).</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The command line was wrong (unknown command or option, missing argument).</summary>
    public const int Usage = 1;

    /// <summary>The settings are missing or invalid: no Sessions section, unknown backend, a backend option failing validation.</summary>
    public const int Configuration = 2;

    /// <summary>The store did not answer or failed.</summary>
    public const int Store = 3;

    /// <summary>What was asked for does not exist (no session with that ID or handle).</summary>
    public const int NotFound = 4;

    /// <summary>The backend cannot do what the command needs (it cannot enumerate its keys).</summary>
    public const int Unsupported = 5;

    /// <summary>Interrupted (Ctrl+C); what was done stays done, and <c>copy</c> resumes when run again.</summary>
    public const int Interrupted = 130;
}

/// <summary>A failure the tool explains to the operator, with its exit code.</summary>
internal sealed class ToolException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
