using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Sessions.Backends;
using StackExchange.Redis;

namespace Sessions.Redis;

/// <summary>
/// Stores sessions in Redis, Redis Cluster or Garnet through StackExchange.Redis: each record is one string key holding a
/// <see cref="SessionRecordHeader"/> record, with a native expiry. Every operation is atomic and one round trip
/// (<c>GET</c>, or one Lua script for each write, delete and touch). Store failures surface
/// as <see cref="RedisSessionBackendException"/>, a value that is not a record as <see cref="SessionRecordCorruptException"/>.
/// </summary>
/// <remarks>A multiplexer the backend opens from <see cref="RedisSessionBackendOptions.Configuration"/> is disposed with it;
/// one the application hands over (constructor, factory or DI) never is.</remarks>
public sealed class RedisSessionBackend : ISessionBackend, ISessionKeyEnumerator, ISessionBackendHealthProbe, ISessionBackendLimits, ISessionBackendPartitions, IAsyncDisposable, IDisposable
{
    /// <summary>The largest payload one record holds: Redis's largest string (<c>proto-max-bulk-len</c>, 512 MiB by default) less the 17-byte header.</summary>
    public const int MaxRecordPayloadBytes = (512 * 1024 * 1024) - SessionRecordHeader.Length;

    private readonly TimeProvider _time;
    private readonly string _keyPrefix;
    private readonly int _databaseNumber;
    private readonly bool _owned;
    private readonly string _timeoutSetting;
    private readonly Func<Task<IConnectionMultiplexer>>? _connect;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private IConnectionMultiplexer? _multiplexer;
    private IDatabase? _database;
    private RedisClusterPartitions? _partitions;
    private volatile bool _disposed;

    /// <summary>Creates a backend that connects on first use where <paramref name="options"/> say.</summary>
    /// <param name="options">Where Redis is, the key prefix, database and timeouts.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid, or do not say where Redis is; the message says what to set.</exception>
    public RedisSessionBackend(RedisSessionBackendOptions options, TimeProvider? timeProvider = null)
        : this(options, timeProvider, given: null, registered: null)
    {
    }

    /// <summary>Creates a backend on <paramref name="multiplexer"/>, which the application owns: it is never disposed.</summary>
    /// <param name="multiplexer">The connection, e.g. from <c>ConnectionMultiplexer.Connect</c> or DI.</param>
    /// <param name="options">The key prefix and database, with <see cref="RedisSessionBackendOptions.Configuration"/> and
    /// <see cref="RedisSessionBackendOptions.ConnectionMultiplexerFactory"/> unset; <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says what to set.</exception>
    public RedisSessionBackend(IConnectionMultiplexer multiplexer, RedisSessionBackendOptions? options = null, TimeProvider? timeProvider = null)
        : this(options ?? new RedisSessionBackendOptions(), timeProvider, multiplexer ?? throw new ArgumentNullException(nameof(multiplexer)), registered: null)
    {
    }

    /// <summary>The one place that decides where Redis is: a multiplexer given (to a constructor or to
    /// <c>AddRedisBackend</c>), the factory, the configuration string, else <paramref name="registered"/> (from DI).</summary>
    internal RedisSessionBackend(RedisSessionBackendOptions options, TimeProvider? timeProvider, IConnectionMultiplexer? given, IConnectionMultiplexer? registered)
    {
        ArgumentNullException.ThrowIfNull(options);
        given ??= options.Multiplexer;
        var errors = new RedisSessionBackendOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];
        var sources = (given is null ? 0 : 1) + (options.ConnectionMultiplexerFactory is null ? 0 : 1) + (string.IsNullOrWhiteSpace(options.Configuration) ? 0 : 1);
        if (sources > 1)
        {
            errors.Add("RedisSessionBackendOptions sets more than one of: a multiplexer given to AddRedisBackend or the backend, ConnectionMultiplexerFactory, Configuration (Sessions:Redis:Configuration). Keep one of them.");
        }
        else if (sources == 0 && (given = registered) is null)
        {
            errors.Add(
                "The Redis session backend does not know where Redis is: set Sessions:Redis:Configuration (e.g. \"127.0.0.1:6379\"), " +
                "or RedisSessionBackendOptions.ConnectionMultiplexerFactory, or register an IConnectionMultiplexer (e.g. builder.AddRedisClient(\"cache\")).");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _keyPrefix = options.KeyPrefix ?? string.Empty;
        _databaseNumber = options.Database ?? -1;
        _time = timeProvider ?? TimeProvider.System;
        _owned = given is null && options.ConnectionMultiplexerFactory is null;
        _timeoutSetting = _owned
            ? $"Sessions:Redis:CommandTimeout ({(int)options.CommandTimeout.TotalMilliseconds} ms); raise it only if the server is merely slow"
            : "the asyncTimeout of the application's IConnectionMultiplexer";
        if (given is not null)
        {
            Use(given);
        }
        else
        {
            var configuration = _owned ? options.ToConfigurationOptions() : null;
            _connect = options.ConnectionMultiplexerFactory ?? (async () => await ConnectionMultiplexer.ConnectAsync(configuration!).ConfigureAwait(false));
        }
    }

    /// <inheritdoc />
    public int MaxPayloadBytes => MaxRecordPayloadBytes;

    /// <summary>The multiplexer in use, once connected (for tests).</summary>
    internal IConnectionMultiplexer? Multiplexer => _multiplexer;

    /// <inheritdoc />
    /// <remarks>On a Redis Cluster: the <c>host:port</c> of the primary serving the key's hash slot, as the cluster
    /// configuration says (after a failover, the new primary). Otherwise <see langword="null"/>. No I/O, no allocation.</remarks>
    public string? GetPartition(string key) => _partitions is not { } partitions || _disposed || key is null
        ? null
        : partitions.PartitionOf(_keyPrefix.Length == 0 ? key : ((RedisKey)key).Prepend(_keyPrefix));

    /// <inheritdoc />
    /// <exception cref="SessionRecordCorruptException">The key holds another type (<c>WRONGTYPE</c>) or a string that is not a record.</exception>
    /// <exception cref="RedisSessionBackendException">Redis is not connected, did not answer in time, or answered with an error.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var redisKey = Prepare(key, cancellationToken);
        var database = _database ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
        RedisValue value;
        try
        {
            value = await database.StringGetAsync(redisKey).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
        {
            throw Corrupt(key, redisKey, "holds another type than a string", null, e);
        }
        catch (Exception e) when (SessionStoreException.IsStoreFailure(e, cancellationToken))
        {
            throw Failure(e, "GET");
        }

        if (value.IsNull)
        {
            return null;
        }

        ReadOnlyMemory<byte> bytes = value;
        return !SessionRecordHeader.TryRead(bytes, out var record)
            ? throw Corrupt(key, redisKey, $"holds {bytes.Length} bytes that are not a session record", bytes.Length, null)
            : record.ExpiresAt <= _time.GetUtcNow() ? null : record;
    }

    /// <inheritdoc />
    /// <exception cref="RedisSessionBackendException">Redis is not connected, did not answer in time, or answered with an error.</exception>
    public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (condition.Kind is not (SetConditionKind.Always or SetConditionKind.IfAbsent or SetConditionKind.IfVersion))
        {
            throw new ArgumentOutOfRangeException(nameof(condition), condition.Kind, "Unknown SetCondition kind.");
        }

        return ScriptAsync(key, RedisScripts.SetIf, (record, condition), static (buffers, now, state) =>
        {
            // One rented buffer: the expected version (8 bytes), then the record; ARGV[3] and ARGV[4] are slices of it.
            var (record, condition) = state;
            var expiresAtMs = record.ExpiresAt.ToUnixTimeMilliseconds();
            var buffer = buffers.Bytes(8 + SessionRecordHeader.Length + record.Payload.Length);
            BinaryPrimitives.WriteInt64BigEndian(buffer, condition.ExpectedVersion);
            var length = SessionRecordHeader.Write(buffer.AsSpan(8), record.Version, expiresAtMs, record.Payload.Span);
            var argv = buffers.Argv5;
            argv[0] = now;
            argv[1] = condition.Kind switch { SetConditionKind.IfVersion => "v", SetConditionKind.IfAbsent => "a", _ => "w" };
            argv[2] = (ReadOnlyMemory<byte>)buffer.AsMemory(0, 8);
            argv[3] = (ReadOnlyMemory<byte>)buffer.AsMemory(8, length);
            argv[4] = expiresAtMs > now ? expiresAtMs : 0;
            return argv;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="RedisSessionBackendException">Redis is not connected, did not answer in time, or answered with an error.</exception>
    public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken) =>
        ScriptAsync(key, RedisScripts.Remove, expectedVersion, static (buffers, now, expected) =>
        {
            var argv = buffers.Argv2;
            argv[0] = now;
            argv[1] = expected is { } version ? BigEndian(buffers, version) : RedisValue.EmptyString;
            return argv;
        }, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="RedisSessionBackendException">Redis is not connected, did not answer in time, or answered with an error.</exception>
    public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        ScriptAsync(key, RedisScripts.Touch, expiresAt.ToUnixTimeMilliseconds(), static (buffers, now, expiresAtMs) =>
        {
            var argv = buffers.Argv3;
            argv[0] = now;
            argv[1] = BigEndian(buffers, expiresAtMs);
            argv[2] = expiresAtMs > now ? expiresAtMs : 0;
            return argv;
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Runs <c>SCAN MATCH prefix*</c> on every primary; one that cannot be reached fails the enumeration with
    /// <see cref="RedisSessionBackendException"/> rather than leaving its keys out.</remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var fullPrefix = _keyPrefix + prefix;
        var pattern = Regex.Replace(fullPrefix, @"[*?\[\]\\^]", @"\$0") + "*"; // a literal prefix: glob characters escaped
        var keys = new List<string>();
        await OnPrimariesAsync("SCAN on", async (server, database) =>
        {
            await foreach (var key in server.KeysAsync(database, pattern, 1000).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                keys.Add(key!);
            }
        }, cancellationToken).ConfigureAwait(false);
        foreach (var key in keys.Where(k => k.StartsWith(fullPrefix, StringComparison.Ordinal)).Distinct()) // SCAN may return a key twice
        {
            yield return key[_keyPrefix.Length..];
        }
    }

    /// <inheritdoc />
    /// <remarks>Sends <c>PING</c> to every primary; any that does not answer fails the probe with a message naming it.</remarks>
    public ValueTask ProbeAsync(CancellationToken cancellationToken) =>
        OnPrimariesAsync("PING to", async (server, _) => await server.PingAsync().ConfigureAwait(false), cancellationToken);

    /// <summary>Closes the multiplexer this backend opened from <see cref="RedisSessionBackendOptions.Configuration"/>;
    /// calls made afterwards throw <see cref="ObjectDisposedException"/>. A multiplexer the application gave stays open.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Detach() is { } owned)
        {
            await owned.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, synchronously, so that a container disposed synchronously can dispose the backend.</summary>
    public void Dispose() => Detach()?.Dispose();

    /// <summary>Runs <paramref name="script"/> by SHA-1 (<c>EVALSHA</c>), or by text (<c>EVAL</c>, which caches it again) after
    /// <c>NOSCRIPT</c> (a flushed or restarted server, a failover, a cluster node that never saw it). True when it returned 1.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> RunAsync(IDatabase database, RedisScripts script, RedisKey key, RedisCallBuffers buffers, RedisValue[] argv)
    {
        var keys = buffers.Keys;
        keys[0] = key;
        RedisResult result;
        try
        {
            result = await database.ScriptEvaluateAsync(script.Sha1, keys, argv).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            result = await database.ScriptEvaluateAsync(script.Text, keys, argv).ConfigureAwait(false);
        }

        buffers.Return(); // answered: the library is done with the arrays (not reached when the call failed)
        return (long)result == 1;
    }

    /// <summary>A 64-bit number as the scripts compare it: 8 bytes, big-endian, in <paramref name="buffers"/>' byte buffer.</summary>
    private static RedisValue BigEndian(RedisCallBuffers buffers, long value)
    {
        var buffer = buffers.Bytes(8);
        BinaryPrimitives.WriteInt64BigEndian(buffer, value);
        return (ReadOnlyMemory<byte>)buffer.AsMemory(0, 8);
    }

    private static SessionRecordCorruptException Corrupt(string key, RedisKey redisKey, string what, int? storedBytes, Exception? inner) => new(
        $"The Redis key \"{redisKey}\" {what}; another application may be writing under the same key prefix. Give sessions their own prefix (Sessions:Redis:KeyPrefix) or database.",
        inner) { Key = key, StoredBytes = storedBytes };

    /// <summary>Runs <paramref name="script"/> on <paramref name="key"/> with the <c>ARGV</c> that <paramref name="argv"/> fills in.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ScriptAsync<TState>(string key, RedisScripts script, TState state, Func<RedisCallBuffers, long, TState, RedisValue[]> argv, CancellationToken cancellationToken)
    {
        var redisKey = Prepare(key, cancellationToken);
        var database = _database ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var buffers = RedisCallBuffers.Rent();
            return await RunAsync(database, script, redisKey, buffers, argv(buffers, _time.GetUtcNow().ToUnixTimeMilliseconds(), state)).ConfigureAwait(false);
        }
        catch (Exception e) when (SessionStoreException.IsStoreFailure(e, cancellationToken))
        {
            throw Failure(e, script.Name);
        }
    }

    /// <summary>Marks the backend disposed and returns the multiplexer to close, if it opened one.</summary>
    private IConnectionMultiplexer? Detach()
    {
        _disposed = true;
        Interlocked.Exchange(ref _partitions, null)?.Detach();
        return _owned ? Interlocked.Exchange(ref _multiplexer, null) : null;
    }

    private void Use(IConnectionMultiplexer multiplexer)
    {
        _multiplexer = multiplexer;
        _partitions = new RedisClusterPartitions(multiplexer);
        _database = multiplexer.GetDatabase(_databaseNumber);
    }

    /// <summary>The slow path of the first call: opens (or asks the factory for) the multiplexer, once.</summary>
    private async ValueTask<IDatabase> ConnectAsync(CancellationToken cancellationToken)
    {
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_database is { } ready)
            {
                return ready;
            }

            IConnectionMultiplexer multiplexer;
            try
            {
                multiplexer = await _connect!().ConfigureAwait(false) ?? throw new InvalidOperationException("RedisSessionBackendOptions.ConnectionMultiplexerFactory returned null.");
            }
            catch (Exception e) when (e is not InvalidOperationException && SessionStoreException.IsStoreFailure(e, cancellationToken))
            {
                throw Failure(e, "the first connection");
            }

            if (_disposed)
            {
                // Disposed while connecting: close what was opened for it (never the app's), and fail like any later call.
                if (_owned)
                {
                    await multiplexer.DisposeAsync().ConfigureAwait(false);
                }

                throw new ObjectDisposedException(GetType().FullName);
            }

            Use(multiplexer);
            return _database!;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>Runs <paramref name="call"/> on every primary (replicas and Sentinels skipped) with the database number,
    /// connecting first if needed; a failure names the server.</summary>
    private async ValueTask OnPrimariesAsync(string command, Func<IServer, int, Task> call, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var database = _database ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var multiplexer = _multiplexer;
        ObjectDisposedException.ThrowIf(_disposed || multiplexer is null, this);
        foreach (var server in multiplexer.GetServers().Where(s => !s.IsReplica && s.ServerType != ServerType.Sentinel))
        {
            try
            {
                await call(server, database.Database).ConfigureAwait(false);
            }
            catch (Exception e) when (SessionStoreException.IsStoreFailure(e, cancellationToken))
            {
                throw Failure(e, $"{command} {RedisClusterPartitions.Describe(server.EndPoint)}");
            }
        }
    }

    /// <summary>Turns StackExchange.Redis's exception into one whose message names the server and the setting to change.</summary>
    private RedisSessionBackendException Failure(Exception e, string command)
    {
        var endpoint = _multiplexer is { } multiplexer ? string.Join(",", multiplexer.GetEndPoints().Select(RedisClusterPartitions.Describe)) : "(not connected)";
        var configuration = _owned ? "Sessions:Redis:Configuration" : "the configuration of the application's IConnectionMultiplexer";
        var message = e switch
        {
            RedisConnectionException connection =>
                $"Redis at {endpoint} is not connected ({connection.FailureType}), so {command} failed at once; is the server running and reachable with these credentials? " +
                $"The connection is retried in the background and calls succeed once it is back. Check {configuration}. ({e.Message})",
            TimeoutException => $"Redis at {endpoint} did not answer {command} within {_timeoutSetting}; the server may be frozen, overloaded or unreachable. ({e.Message})",
            RedisServerException => $"Redis at {endpoint} answered {command} with an error: {e.Message}",
            _ => $"Redis at {endpoint} failed {command}: {e.Message} Check {configuration}.",
        };
        return new RedisSessionBackendException(message, e) { Endpoint = endpoint };
    }

    private RedisKey Prepare(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        return _keyPrefix.Length == 0 ? key : _keyPrefix + key;
    }
}
