using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Sessions.EFCore.Tests.Support;

/// <summary>
/// A real PostgreSQL 15 for the whole test run: initdb in a temporary directory, postgres on a free loopback port and a
/// Unix socket in that directory, readiness by polling a connection, stopped and removed afterwards. When
/// <c>SESSIONS_TEST_POSTGRES</c> holds a connection string, that server is used instead and nothing is started.
/// </summary>
internal sealed class PostgresServer : IAsyncDisposable
{
    public const string EnvironmentVariable = "SESSIONS_TEST_POSTGRES";
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private readonly string? _directory;

    private PostgresServer(string connectionString, string? directory)
    {
        ConnectionString = connectionString;
        _directory = directory;
    }

    /// <summary>A connection string for the <c>postgres</c> database as the superuser.</summary>
    public string ConnectionString { get; }

    /// <summary>Whether this run started the server (and so may create and drop databases freely).</summary>
    public bool Owned => _directory is not null;

    /// <summary>Why no PostgreSQL can be had here, or <see langword="null"/> when one can.</summary>
    public static string? UnavailableReason() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } || File.Exists(Path.Combine(BinDirectory, "initdb"))
            ? null
            : $"PostgreSQL 15 is not installed ({BinDirectory}/initdb is missing): run tools/setup.sh, or set {EnvironmentVariable} to a connection string.";

    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } external)
        {
            await WaitUntilReadyAsync(external, null, TimeSpan.FromSeconds(30), cancellationToken);
            return new PostgresServer(external, null);
        }

        var directory = Directory.CreateTempSubdirectory("sessions-efcore-pg-").FullName;
        var server = (PostgresServer?)null;
        try
        {
            var asRoot = Environment.UserName == "root";
            if (asRoot)
            {
                // initdb and postgres refuse to run as root: the data directory belongs to the postgres OS user.
                await RunAsync("chown", ["postgres:postgres", directory], cancellationToken);
            }

            var data = Path.Combine(directory, "data");
            await RunPostgresToolAsync(asRoot, "initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"], cancellationToken);

            var port = FreePort();
            var settings = $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c full_page_writes=off -c synchronous_commit=off";
            await RunPostgresToolAsync(asRoot, "pg_ctl", ["-D", data, "-o", settings, "-l", Path.Combine(directory, "log"), "-W", "start"], cancellationToken);
            server = new PostgresServer($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Maximum Pool Size=200;Timeout=15", directory);
            await WaitUntilReadyAsync(server.ConnectionString, Path.Combine(directory, "log"), TimeSpan.FromSeconds(60), cancellationToken);
            return server;
        }
        catch
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
            else
            {
                Directory.Delete(directory, recursive: true);
            }

            throw;
        }
    }

    /// <summary>Creates a fresh database and returns a connection string for it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a database created by <see cref="CreateDatabaseAsync"/>, closing its connections first.</summary>
    public async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_directory is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunPostgresToolAsync(Environment.UserName == "root", "pg_ctl", ["-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop"], CancellationToken.None);
        }
        finally
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static async Task WaitUntilReadyAsync(string connectionString, string? log, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var probe = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 2 }.ConnectionString;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(probe);
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException && deadline.Elapsed < timeout)
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
            {
                var tail = log is not null && File.Exists(log) ? await File.ReadAllTextAsync(log, cancellationToken) : "(no log)";
                throw new InvalidOperationException($"PostgreSQL did not accept connections within {timeout.TotalSeconds} s ({ex.Message}). Server log:\n{tail}", ex);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task RunPostgresToolAsync(bool asRoot, string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        asRoot
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(BinDirectory, tool), .. arguments], cancellationToken)
            : RunAsync(Path.Combine(BinDirectory, tool), arguments, cancellationToken);

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }
}
