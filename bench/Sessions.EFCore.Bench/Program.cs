using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using MySqlConnector;
using Npgsql;
using NpgsqlTypes;
using Sessions.Backends;
using Sessions.EFCore;
using Sessions.EFCore.Tests.Support;

// The EF Core backend on a real PostgreSQL 15 (started in a temp directory, or SESSIONS_TEST_POSTGRES) and a real
// MariaDB 10.11 (likewise, or SESSIONS_TEST_MARIADB), on the EF Core 9 line:
//   1. load-and-save throughput at 32 concurrent callers: GetAsync + SetAsync(IfVersion) per operation, against a baseline
//      of hand-written statements doing the same work (SELECT, then conditional UPDATE, each on a connection opened from
//      the pool for it, as the backend's two calls do) on the same table: Npgsql on PostgreSQL, MySqlConnector on MariaDB;
//   2. the time to purge 1,000,000 rows of which 10% are expired on PostgreSQL (rows bulk-inserted with binary COPY).
// Each round also prints the client's CPU per operation: on a small machine the client and the server share the cores, so
// client overhead shows up directly as lost throughput.
// Run: dotnet run -c Release --project bench/Sessions.EFCore.Bench [-- --seconds 10 --rounds 2 --warmup 8 --purge-rows 1000000 --only mariadb|postgres --shared-connection]
var seconds = Argument("--seconds", 8);
var rounds = Argument("--rounds", 2);

// Seconds of unmeasured load for each side before the rounds. 2 s was the default until 2026-12-07: on this machine at load
// 30+ that left the backend's first round on code not yet at its final JIT tier (EF Core, Pomelo and the backend have more
// of it than the baseline), 200-330 µs of client CPU per op against 150-180 µs in its second round.
var warmup = Argument("--warmup", 8);
var purgeRows = Argument("--purge-rows", 1_000_000);
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();

// --shared-connection: the baselines as they were before 2026-12-07, both statements on one connection (one pooled open per
// load-and-save against the backend's two); kept to show what the second open costs.
var sharedConnection = args.Contains("--shared-connection");
const int callers = 32;
const int sessions = 10_000;
const int payloadBytes = 512;

if (only is null or "postgres")
{
    using var startup = new CancellationTokenSource(TimeSpan.FromMinutes(2));
    await using var server = await PostgresServer.StartAsync(startup.Token);
    var database = await server.CreateDatabaseAsync("sessions_bench");
    var connectionString = new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = 64, MinPoolSize = callers }.ConnectionString;
    Console.WriteLine($"PostgreSQL: {(server.Owned ? "started for this run (fsync off)" : "external")}; {Environment.ProcessorCount} cores; {callers} callers; {sessions} sessions of {payloadBytes} bytes");

    await using var backend = EFCoreSessionBackend.Create(db => db.UseNpgsql(connectionString));
    await backend.EnsureTableAsync();
    await SeedAsync(connectionString, "sessions", sessions, expiredEvery: 0, payloadBytes);
    await using var dataSource = NpgsqlDataSource.Create(connectionString);

    await CompareAsync("PostgreSQL", "hand-written Npgsql", (key, ct) => BackendOperation(backend, key, ct), (key, ct) => RawOperation(dataSource, key, sharedConnection, ct));

    // Purge: a separate table so the throughput table stays untouched.
    await using var purger = EFCoreSessionBackend.Create(db => db.UseNpgsql(connectionString), new EFCoreSessionBackendOptions { TableName = "purge_sessions" });
    await purger.EnsureTableAsync();
    var seeding = Stopwatch.StartNew();
    await SeedAsync(connectionString, "purge_sessions", purgeRows, expiredEvery: 10, 64);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"purge setup: {purgeRows:N0} rows (10% expired) copied and analysed in {seeding.Elapsed.TotalSeconds:F1} s"));
    var purging = Stopwatch.StartNew();
    var purged = await purger.PurgeExpiredAsync(CancellationToken.None);
    purging.Stop();
    var left = await ScalarAsync(connectionString, "SELECT count(*) FROM purge_sessions");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"purge: {purged:N0} expired rows deleted in {purging.Elapsed.TotalSeconds:F2} s (batches of 1000), {left:N0} live rows left"));

    if (!server.Owned)
    {
        await server.DropDatabaseAsync(database);
    }
}

if (only is null or "mariadb")
{
    using var mariaStartup = new CancellationTokenSource(TimeSpan.FromMinutes(2));
    await using var maria = await MariaDbServer.StartAsync(mariaStartup.Token);
    var mariaDatabase = new MySqlConnectionStringBuilder(await maria.CreateDatabaseAsync("sessions_bench")) { MaximumPoolSize = 64, MinimumPoolSize = callers }.ConnectionString;
    Console.WriteLine($"MariaDB: {(Environment.GetEnvironmentVariable(MariaDbServer.EnvironmentVariable) is { Length: > 0 } ? "external" : "started for this run")}; {callers} callers; {sessions} sessions of {payloadBytes} bytes");
    var version = new MariaDbServerVersion(new Version(10, 11, 0));
    await using var mariaBackend = EFCoreSessionBackend.Create(db => db.UseMySql(mariaDatabase, version));
    await mariaBackend.EnsureTableAsync();
    await SeedMariaDbAsync(mariaDatabase, sessions, payloadBytes);
    await using var mariaSource = new MySqlDataSource(mariaDatabase);
    await CompareAsync("MariaDB", "hand-written MySqlConnector", (key, ct) => BackendOperation(mariaBackend, key, ct), (key, ct) => RawMariaDbOperation(mariaSource, key, sharedConnection, ct));
}

return;

// Alternates the backend and the baseline round by round, after a warm-up of each, and prints the ratio of their rates.
async Task CompareAsync(string database, string baselineName, Func<string, CancellationToken, ValueTask> backendOperation, Func<string, CancellationToken, ValueTask> baseline)
{
    double efTotal = 0, rawTotal = 0;
    await RunAsync($"{database} warm-up EF Core", warmup, backendOperation);
    await RunAsync($"{database} warm-up {baselineName}", warmup, baseline);
    for (var round = 1; round <= rounds; round++)
    {
        efTotal += await RunAsync($"{database} round {round} EF Core backend", seconds, backendOperation);
        rawTotal += await RunAsync($"{database} round {round} {baselineName}", seconds, baseline);
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{database} load+save throughput: EF Core backend {efTotal / rounds:F0} ops/s, {baselineName} {rawTotal / rounds:F0} ops/s, ratio {efTotal / rawTotal:F2} (goal >= 0.90)"));
}

static async ValueTask BackendOperation(EFCoreSessionBackend backend, string key, CancellationToken ct)
{
    var current = await backend.GetAsync(key, ct) ?? throw new InvalidOperationException($"{key} is missing");
    var next = new SessionRecord(current.Payload, DateTimeOffset.UtcNow.AddMinutes(30), current.Version + 1);
    await backend.SetAsync(key, next, SetCondition.IfVersion(current.Version), ct);
}

// The baselines open a pooled connection for the load and another for the save, as the engine's separate GetAsync and
// SetAsync calls (a request loads, runs the app, then saves) make the backend do.
static async ValueTask RawOperation(NpgsqlDataSource dataSource, string key, bool shared, CancellationToken ct)
{
    var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    byte[] payload;
    long version;
    await using var one = shared ? await dataSource.OpenConnectionAsync(ct) : null;
    await using (var connection = shared ? null : await dataSource.OpenConnectionAsync(ct))
    await using (var select = new NpgsqlCommand("SELECT payload, expires_at, version FROM sessions WHERE key = $1 AND expires_at > $2", one ?? connection))
    {
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        select.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now });
        await using var reader = await select.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            throw new InvalidOperationException($"{key} is missing");
        }

        payload = reader.GetFieldValue<byte[]>(0);
        version = reader.GetInt64(2);
    }

    await using var saving = shared ? null : await dataSource.OpenConnectionAsync(ct);
    await using var update = new NpgsqlCommand("UPDATE sessions SET payload = $1, expires_at = $2, version = $3 WHERE key = $4 AND version = $5 AND expires_at > $6", one ?? saving);
    update.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = payload });
    update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeMilliseconds() });
    update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version + 1 });
    update.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
    update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
    update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now });
    await update.ExecuteNonQueryAsync(ct);
}

static async ValueTask RawMariaDbOperation(MySqlDataSource dataSource, string key, bool shared, CancellationToken ct)
{
    var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    byte[] payload;
    long version;
    await using var one = shared ? await dataSource.OpenConnectionAsync(ct) : null;
    await using (var connection = shared ? null : await dataSource.OpenConnectionAsync(ct))
    await using (var select = new MySqlCommand("SELECT payload, expires_at, version FROM sessions WHERE `key` = @k AND expires_at > @now", one ?? connection))
    {
        select.Parameters.AddWithValue("@k", key);
        select.Parameters.AddWithValue("@now", now);
        await using var reader = await select.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            throw new InvalidOperationException($"{key} is missing");
        }

        payload = reader.GetFieldValue<byte[]>(0);
        version = reader.GetInt64(2);
    }

    await using var saving = shared ? null : await dataSource.OpenConnectionAsync(ct);
    await using var update = new MySqlCommand("UPDATE sessions SET payload = @p, expires_at = @e, version = @v WHERE `key` = @k AND version = @old AND expires_at > @now", one ?? saving);
    update.Parameters.AddWithValue("@p", payload);
    update.Parameters.AddWithValue("@e", DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeMilliseconds());
    update.Parameters.AddWithValue("@v", version + 1);
    update.Parameters.AddWithValue("@k", key);
    update.Parameters.AddWithValue("@old", version);
    update.Parameters.AddWithValue("@now", now);
    await update.ExecuteNonQueryAsync(ct);
}

static async Task SeedMariaDbAsync(string connectionString, int rows, int payloadLength)
{
    await using var connection = new MySqlConnection(connectionString);
    await connection.OpenAsync();
    var payload = new byte[payloadLength];
    Random.Shared.NextBytes(payload);
    var live = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeMilliseconds();
    for (var start = 0; start < rows; start += 500)
    {
        await using var insert = new MySqlCommand { Connection = connection };
        var values = new List<string>();
        for (var i = start; i < Math.Min(rows, start + 500); i++)
        {
            values.Add($"(@k{i - start}, @p, {live}, 1)");
            insert.Parameters.AddWithValue($"@k{i - start}", Key(i));
        }

        insert.Parameters.AddWithValue("@p", payload);
        insert.CommandText = $"INSERT INTO sessions (`key`, payload, expires_at, version) VALUES {string.Join(", ", values)}";
        await insert.ExecuteNonQueryAsync();
    }
}

// 32 callers, each looping over its own slice of the keys (so conditional writes do not conflict), for a fixed time.
async Task<double> RunAsync(string label, int durationSeconds, Func<string, CancellationToken, ValueTask> operation)
{
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(durationSeconds));
    var counts = new long[callers];
    var cpu = Environment.CpuUsage.TotalTime;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
    {
        var i = caller;
        while (!stop.IsCancellationRequested)
        {
            await operation(Key(i % sessions), CancellationToken.None);
            counts[caller]++;
            i += callers;
        }
    })));
    var elapsed = clock.Elapsed;
    var operations = counts.Sum();
    var rate = operations / elapsed.TotalSeconds;

    // The client's own CPU per operation: on a small machine shared with the server, this is what the client takes from it.
    var cpuPerOperation = (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds / Math.Max(1, operations);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label}: {rate:F0} ops/s, client CPU {cpuPerOperation:F0} µs/op"));
    return rate;
}

static string Key(int i) => $"session:{i:D8}";

static async Task SeedAsync(string connectionString, string table, int rows, int expiredEvery, int payloadLength)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    var payload = new byte[payloadLength];
    Random.Shared.NextBytes(payload);
    var live = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeMilliseconds();
    var expired = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
    await using (var writer = await connection.BeginBinaryImportAsync($"COPY {table} (key, payload, expires_at, version) FROM STDIN (FORMAT BINARY)"))
    {
        for (var i = 0; i < rows; i++)
        {
            await writer.StartRowAsync();
            await writer.WriteAsync(Key(i), NpgsqlDbType.Varchar);
            await writer.WriteAsync(payload, NpgsqlDbType.Bytea);
            await writer.WriteAsync(expiredEvery > 0 && i % expiredEvery == 0 ? expired : live, NpgsqlDbType.Bigint);
            await writer.WriteAsync(1L, NpgsqlDbType.Bigint);
        }

        await writer.CompleteAsync();
    }

    await using var analyze = new NpgsqlCommand($"ANALYZE {table}", connection);
    await analyze.ExecuteNonQueryAsync();
}

static async Task<long> ScalarAsync(string connectionString, string sql)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection);
    return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
}

int Argument(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}
