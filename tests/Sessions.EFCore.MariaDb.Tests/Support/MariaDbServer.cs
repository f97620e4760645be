using MySqlConnector;
using Sessions.Conformance;

namespace Sessions.EFCore.Tests.Support;

/// <summary>
/// A real MariaDB for the whole test run: <c>mariadb-install-db</c> in a temporary directory, <c>mariadbd</c> on a free
/// loopback port and a Unix socket in that directory, root's password set over the socket, readiness by polling a TCP
/// connection, stopped by its process ID and removed afterwards. When <c>SESSIONS_TEST_MARIADB</c> holds a connection
/// string (root-like rights, to create databases), that server is used instead and nothing is started.
/// </summary>
internal sealed class MariaDbServer : IAsyncDisposable
{
    public const string EnvironmentVariable = "SESSIONS_TEST_MARIADB";
    private const string Password = "sessions-tests";

    private readonly ServerProcess? _process;
    private readonly string? _directory;

    private MariaDbServer(string connectionString, ServerProcess? process, string? directory)
    {
        ConnectionString = connectionString;
        _process = process;
        _directory = directory;
    }

    /// <summary>A connection string for the server as root, with no database.</summary>
    public string ConnectionString { get; }

    /// <summary>Why no MariaDB can be had here, or <see langword="null"/> when one can.</summary>
    public static string? UnavailableReason() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } || File.Exists("/usr/sbin/mariadbd") || File.Exists("/usr/bin/mariadbd")
            ? null
            : $"MariaDB is not installed (no mariadbd): run tools/setup.sh (SESSIONS_SETUP=mariadb), or set {EnvironmentVariable} to a connection string.";

    public static async Task<MariaDbServer> StartAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } external)
        {
            return new MariaDbServer(external, null, null);
        }

        var directory = Directory.CreateTempSubdirectory("sessions-efcore-mariadb-").FullName;
        var data = Path.Combine(directory, "data");
        var socket = Path.Combine(directory, "sock");
        var user = Environment.UserName;
        var hint = "run tools/setup.sh (SESSIONS_SETUP=mariadb), or apt-get install -y mariadb-server";
        ServerProcess? process = null;
        try
        {
            await RunAsync(ServerProcess.FindOnPath("mariadb-install-db", hint), ["--no-defaults", $"--user={user}", $"--datadir={data}", "--auth-root-authentication-method=normal", "--skip-test-db"], cancellationToken);
            var port = ServerProcess.FreeLoopbackPort();
            process = await ServerProcess.StartAsync(
                $"mariadbd on 127.0.0.1:{port}",
                File.Exists("/usr/sbin/mariadbd") ? "/usr/sbin/mariadbd" : ServerProcess.FindOnPath("mariadbd", hint),
                [
                    "--no-defaults", $"--user={user}", $"--datadir={data}", $"--port={port}", "--bind-address=127.0.0.1", $"--socket={socket}",
                    $"--pid-file={Path.Combine(directory, "pid")}", "--skip-log-bin", "--max-connections=500", "--innodb-flush-log-at-trx-commit=0",
                    "--innodb-buffer-pool-size=128M", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
                ],
                ct => ServerProcess.AcceptsTcpAsync(port, ct),
                TimeSpan.FromSeconds(60));

            // root@localhost has no password and answers only on the socket until it has one.
            await RunAsync(ServerProcess.FindOnPath("mariadb", hint), ["--no-defaults", $"--socket={socket}", "-uroot", "-e", $"ALTER USER 'root'@'localhost' IDENTIFIED BY '{Password}'"], cancellationToken);
            var server = new MariaDbServer($"Server=127.0.0.1;Port={port};User=root;Password={Password};Maximum Pool Size=200;Connection Timeout=15", process, directory);
            process = null;
            return server;
        }
        finally
        {
            if (process is not null)
            {
                await process.DisposeAsync();
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>Creates a fresh database and returns a connection string for it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(64, prefix.Length + 33)];
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand($"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", connection);
        await command.ExecuteNonQueryAsync();
        return new MySqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        MySqlConnection.ClearAllPools();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }
}
