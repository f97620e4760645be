using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Sessions.Backends;
using StackExchange.Redis;

namespace Sessions.Redis;

/// <summary>
/// Stores sessions in Redis, Redis Cluster or Garnet through StackExchange.Redis. Each record is one string key (a
/// 17-byte header with version and expiry, then the payload) with a native expiry. A read is one <c>GET</c>; an
/// unconditional write one <c>SET ... PXAT</c>, an if-absent write one <c>SET ... NX PXAT</c> (on a server without
/// <c>PXAT</c>, such as Garnet 2.2, the conditional-set script instead); conditional writes, conditional deletes and
/// touches are one Lua script each, so every operation is atomic and one round trip. Lists keys with <c>SCAN</c> on every
/// primary; the health probe is <c>PING</c>. On a cluster each primary is a partition (<see cref="GetPartition"/>), so the
/// core's circuit breaker fails only the sessions of a primary that is down.
/// </summary>
/// <remarks>
/// <para>A backend created from <see cref="RedisSessionBackendOptions.Configuration"/> opens its own multiplexer on first
/// use and disposes it with the backend. A multiplexer the application hands over (the constructor that takes one,
/// <see cref="RedisSessionBackendOptions.ConnectionMultiplexerFactory"/>, or DI) is shared and never disposed.</para>
/// <para>Failures surface as <see cref="RedisSessionBackendException"/> (the core turns it into a 503); a value that is not
/// a session record (another type, another format, empty) as <see cref="SessionRecordCorruptException"/>.</para>
/// </remarks>
public sealed class RedisSessionBackend : ISessionBackend, ISessionKeyEnumerator, ISessionBackendHealthProbe, ISessionBackendLimits, ISessionBackendPartitions, IAsyncDisposable, IDisposable
{
    /// <summary>
    /// The largest payload one record holds: Redis's largest string (<c>proto-max-bulk-len</c>, 512 MiB by default; the
    /// Redis documentation of strings) less the 17-byte header. The core's own <c>SessionOptions.MaxPayloadBytes</c> is
    /// normally far lower.
    /// </summary>
    public const int MaxRecordPayloadBytes = (512 * 1024 * 1024) - RedisRecordFormat.HeaderLength;

    private const int ScanPageSize = 1000;

    private readonly TimeProvider _time;
    private readonly string _keyPrefix;
    private readonly int _databaseNumber;
    private readonly bool _owned;
    private readonly int _commandTimeoutMs;
    private readonly Func<Task<IConnectionMultiplexer>>? _connect;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private IConnectionMultiplexer? _multiplexer;
    private IDatabase? _database;
    private RedisClusterPartitions? _partitions;
    private volatile bool _disposed;
    private volatile bool _serverKnowsPxat = true;

    /// <summary>
    /// Creates a backend that connects as <paramref name="options"/> says: its own multiplexer from
    /// <see cref="RedisSessionBackendOptions.Configuration"/> (owned, disposed with the backend) or the application's from
    /// <see cref="RedisSessionBackendOptions.ConnectionMultiplexerFactory"/> (never disposed). Connecting happens on first use.
    /// </summary>
    /// <param name="options">Where Redis is, the key prefix, database and timeouts.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid, or name neither a configuration nor a factory; the message says what to set.</exception>
    public RedisSessionBackend(RedisSessionBackendOptions options, TimeProvider? timeProvider = null)
        : this(options, timeProvider, multiplexer: null)
    {
    }

    /// <summary>
    /// Creates a backend on <paramref name="multiplexer"/>, which the application owns and may share with other code
    /// (an <c>IDistributedCache</c>, SignalR, Data Protection): disposing the backend leaves it open. Its own timeouts and
    /// backlog policy apply.
    /// </summary>
    /// <param name="multiplexer">The connection, e.g. from <c>ConnectionMultiplexer.Connect</c> or DI.</param>
    /// <param name="options">The key prefix and database; leave <see cref="RedisSessionBackendOptions.Configuration"/> and
    /// <see cref="RedisSessionBackendOptions.ConnectionMultiplexerFactory"/> unset. <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says what to set.</exception>
    public RedisSessionBackend(IConnectionMultiplexer multiplexer, RedisSessionBackendOptions? options = null, TimeProvider? timeProvider = null)
        : this(options ?? new RedisSessionBackendOptions(), timeProvider, multiplexer ?? throw new ArgumentNullException(nameof(multiplexer)))
    {
    }

    private RedisSessionBackend(RedisSessionBackendOptions options, TimeProvider? timeProvider, IConnectionMultiplexer? multiplexer)
    {
        ArgumentNullException.ThrowIfNull(options);
        multiplexer ??= options.Multiplexer;
        var errors = Validate(options, multiplexer);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _keyPrefix = options.KeyPrefix;
        _databaseNumber = options.Database ?? -1;
        _time = timeProvider ?? TimeProvider.System;
        _commandTimeoutMs = (int)options.CommandTimeout.TotalMilliseconds;
        if (multiplexer is not null)
        {
            Use(multiplexer);
        }
        else if (options.ConnectionMultiplexerFactory is { } factory)
        {
            _connect = factory;
        }
        else
        {
            var configuration = RedisConnectionDefaults.Apply(options);
            _owned = true;
            _connect = async () => await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public int MaxPayloadBytes => MaxRecordPayloadBytes;

    /// <inheritdoc />
    /// <remarks>
    /// On a Redis Cluster: the <c>host:port</c> of the primary that serves the key's hash slot, as the cluster configuration
    /// says (not where the client would send the call: while a primary is down, the client sends its keys to any node). After
    /// a failover the slot's new primary is named, so its keys get a new, closed breaker. On one server, through Sentinel,
    /// and before the first connection: <see langword="null"/>, one breaker for the whole store. No I/O, no allocation.
    /// </remarks>
    public string? GetPartition(string key)
    {
        if (_partitions is not { } partitions || _disposed || key is null)
        {
            return null;
        }

        return _keyPrefix.Length == 0 ? partitions.PartitionOf(key) : partitions.PartitionOf(((RedisKey)key).Prepend(_keyPrefix));
    }

    /// <summary>The multiplexer in use, once connected (for tests).</summary>
    internal IConnectionMultiplexer? Multiplexer => _multiplexer;

    /// <inheritdoc />
    /// <exception cref="SessionRecordCorruptException">The key holds something other than a session record: another type
    /// (<c>WRONGTYPE</c>), an empty or too short string, or another format.</exception>
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
            throw new SessionRecordCorruptException(
                $"The Redis key \"{redisKey}\" holds another type than a string, so it is not a session record; another application may be writing under the same key prefix. Give sessions their own prefix (Sessions:Redis:KeyPrefix) or database.",
                e)
            {
                Key = key,
            };
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw Failure(e, "GET");
        }

        if (value.IsNull)
        {
            return null;
        }

        ReadOnlyMemory<byte> bytes = value;
        if (!RedisRecordFormat.TryRead(bytes.Span, out var version, out var expiresAtMs))
        {
            throw new SessionRecordCorruptException(
                $"The Redis key \"{redisKey}\" does not hold a session record ({bytes.Length} bytes, first byte {(bytes.Length > 0 ? bytes.Span[0] : 0)}); " +
                "another application may be writing under the same key prefix. Give sessions their own prefix (Sessions:Redis:KeyPrefix) or database.")
            {
                Key = key,
                StoredBytes = bytes.Length,
            };
        }

        return expiresAtMs <= NowMs()
            ? null
            : new SessionRecord(bytes[RedisRecordFormat.HeaderLength..], DateTimeOffset.FromUnixTimeMilliseconds(expiresAtMs), version);
    }

    /// <inheritdoc />
    /// <exception cref="RedisSessionBackendException">Redis is not connected, did not answer in time, or answered with an error.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        var redisKey = Prepare(key, cancellationToken);
        ArgumentNullException.ThrowIfNull(record);
        if (condition.Kind is not (SetConditionKind.Always or SetConditionKind.IfAbsent or SetConditionKind.IfVersion))
        {
            throw new ArgumentOutOfRangeException(nameof(condition), condition.Kind, "Unknown SetCondition kind.");
        }

        var database = _database ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var expiresAtMs = record.ExpiresAt.ToUnixTimeMilliseconds();
        var now = NowMs();
        try
        {
            if (condition.Kind == SetConditionKind.IfVersion)
            {
                // One rented buffer: the expected version (8 bytes), then the record; ARGV[3] and ARGV[4] are slices of it.
                var buffers = RedisCallBuffers.Rent();
                var buffer = buffers.Bytes(8 + RedisRecordFormat.HeaderLength + record.Payload.Length);
                RedisRecordFormat.WriteBigEndian(buffer, condition.ExpectedVersion);
                var length = RedisRecordFormat.Write(buffer.AsSpan(8), record.Version, expiresAtMs, record.Payload.Span);
                var argv = buffers.Argv5;
                argv[0] = now;
                argv[1] = "v";
                argv[2] = (ReadOnlyMemory<byte>)buffer.AsMemory(0, 8);
                argv[3] = (ReadOnlyMemory<byte>)buffer.AsMemory(8, length);
                argv[4] = expiresAtMs > now ? expiresAtMs : 0;
                var conditional = Evaluate(database, RedisScripts.SetIf, redisKey, buffers, argv);
                RedisResult writtenResult;
                try
                {
                    writtenResult = await conditional.BySha.ConfigureAwait(false);
                }
                catch (RedisServerException e) when (IsNoScript(e))
                {
                    writtenResult = await conditional.ByTextAsync().ConfigureAwait(false);
                }

                var written = (long)writtenResult == 1;
                buffers.Return(); // answered: the library is done with the arrays (not reached when the call failed)
                return written;
            }

            if (expiresAtMs <= now && condition.Kind == SetConditionKind.Always)
            {
                // Already expired: writing it would store nothing readable, so make sure nothing is there.
                await database.KeyDeleteAsync(redisKey).ConfigureAwait(false);
                return true;
            }

            if (_serverKnowsPxat && expiresAtMs > now)
            {
                var buffers = RedisCallBuffers.Rent();
                var buffer = buffers.Bytes(RedisRecordFormat.HeaderLength + record.Payload.Length);
                var length = RedisRecordFormat.Write(buffer, record.Version, expiresAtMs, record.Payload.Span);
                try
                {
                    // PXAT one millisecond before the header's expiry: Redis keeps a key while now <= PXAT, the header is live
                    // while now < expiry, so by one clock both end at the same instant (and NX sees no key the header calls expired).
                    var set = await database.StringSetAsync(
                        redisKey,
                        (ReadOnlyMemory<byte>)buffer.AsMemory(0, length),
                        new Expiration(DateTime.UnixEpoch.AddMilliseconds(expiresAtMs - 1)),
                        condition.Kind == SetConditionKind.IfAbsent ? ValueCondition.NotExists : ValueCondition.Always).ConfigureAwait(false);
                    buffers.Return(); // answered: the library is done with the buffer
                    return set;
                }
                catch (RedisServerException e) when (e.Message.Contains("syntax error", StringComparison.OrdinalIgnoreCase))
                {
                    // SET ... PXAT came with Redis 6.2; Garnet 2.2 does not know it. Use the script from now on.
                    _serverKnowsPxat = false;
                    buffers.Return(); // answered (with an error): the library is done with the buffer
                }
            }

            var scripted = RedisCallBuffers.Rent();
            var encoded = scripted.Bytes(RedisRecordFormat.HeaderLength + record.Payload.Length);
            var recordLength = RedisRecordFormat.Write(encoded, record.Version, expiresAtMs, record.Payload.Span);
            var values = scripted.Argv5;
            values[0] = now;
            values[1] = condition.Kind == SetConditionKind.IfAbsent ? "a" : "w";
            values[2] = RedisValue.EmptyString;
            values[3] = (ReadOnlyMemory<byte>)encoded.AsMemory(0, recordLength);
            values[4] = expiresAtMs > now ? expiresAtMs : 0;
            var call = Evaluate(database, RedisScripts.SetIf, redisKey, scripted, values);
            RedisResult scriptResult;
            try
            {
                scriptResult = await call.BySha.ConfigureAwait(false);
            }
            catch (RedisServerException e) when (IsNoScript(e))
            {
                scriptResult = await call.ByTextAsync().ConfigureAwait(false);
            }

            var result = (long)scriptResult == 1;
            scripted.Return();
            return result;
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw Failure(e, condition.Kind == SetConditionKind.IfVersion ? "the conditional-set script" : "SET");
        }
    }

    /// <inheritdoc />
    /// <exception cref="RedisSessionBackendException">Redis is not connected, did not answer in time, or answered with an error.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var redisKey = Prepare(key, cancellationToken);
        var database = _database ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var buffers = RedisCallBuffers.Rent();
            var argv = buffers.Argv2;
            argv[0] = NowMs();
            if (expectedVersion is { } v)
            {
                var buffer = buffers.Bytes(8);
                RedisRecordFormat.WriteBigEndian(buffer, v);
                argv[1] = (ReadOnlyMemory<byte>)buffer.AsMemory(0, 8);
            }
            else
            {
                argv[1] = RedisValue.EmptyString;
            }

            var call = Evaluate(database, RedisScripts.Remove, redisKey, buffers, argv);
            RedisResult removedResult;
            try
            {
                removedResult = await call.BySha.ConfigureAwait(false);
            }
            catch (RedisServerException e) when (IsNoScript(e))
            {
                removedResult = await call.ByTextAsync().ConfigureAwait(false);
            }

            var removed = (long)removedResult == 1;
            buffers.Return();
            return removed;
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw Failure(e, "the remove script");
        }
    }

    /// <inheritdoc />
    /// <exception cref="RedisSessionBackendException">Redis is not connected, did not answer in time, or answered with an error.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var redisKey = Prepare(key, cancellationToken);
        var database = _database ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var expiresAtMs = expiresAt.ToUnixTimeMilliseconds();
        var now = NowMs();
        try
        {
            var buffers = RedisCallBuffers.Rent();
            var buffer = buffers.Bytes(8);
            RedisRecordFormat.WriteBigEndian(buffer, expiresAtMs);
            var argv = buffers.Argv3;
            argv[0] = now;
            argv[1] = (ReadOnlyMemory<byte>)buffer.AsMemory(0, 8);
            argv[2] = expiresAtMs > now ? expiresAtMs : 0;
            var call = Evaluate(database, RedisScripts.Touch, redisKey, buffers, argv);
            RedisResult touchedResult;
            try
            {
                touchedResult = await call.BySha.ConfigureAwait(false);
            }
            catch (RedisServerException e) when (IsNoScript(e))
            {
                touchedResult = await call.ByTextAsync().ConfigureAwait(false);
            }

            var touched = (long)touchedResult == 1;
            buffers.Return();
            return touched;
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw Failure(e, "the touch script");
        }
    }

    /// <inheritdoc />
    /// <remarks>Runs <c>SCAN MATCH prefix*</c> on every primary the multiplexer knows (replicas are skipped). A primary
    /// that cannot be reached fails the enumeration with <see cref="RedisSessionBackendException"/> rather than leaving
    /// its keys out.</remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var database = _database ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var fullPrefix = _keyPrefix + prefix;
        var pattern = EscapeGlob(fullPrefix) + "*";

        // SCAN may return a key more than once (when the table grows mid-scan): remember what was listed.
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in Primaries())
        {
            var keys = server.KeysAsync(database.Database, pattern, ScanPageSize).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await keys.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (Exception e) when (IsRedisFailure(e))
                    {
                        throw Failure(e, $"SCAN on {Describe(server.EndPoint)}");
                    }

                    if (!more)
                    {
                        break;
                    }

                    var key = (string?)keys.Current;
                    if (key is not null && key.StartsWith(fullPrefix, StringComparison.Ordinal) && listed.Add(key))
                    {
                        yield return key[_keyPrefix.Length..];
                    }
                }
            }
            finally
            {
                await keys.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Sends <c>PING</c> to every primary; any that does not answer fails the probe with a message naming it.</remarks>
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        _ = _database ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
        foreach (var server in Primaries())
        {
            try
            {
                await server.PingAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                throw Failure(e, $"PING to {Describe(server.EndPoint)}");
            }
        }
    }

    /// <summary>Closes the multiplexer this backend opened from <see cref="RedisSessionBackendOptions.Configuration"/>;
    /// calls made afterwards throw <see cref="ObjectDisposedException"/>. A multiplexer the application gave stays open.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        Interlocked.Exchange(ref _partitions, null)?.Detach();
        if (_owned && Interlocked.Exchange(ref _multiplexer, null) is { } multiplexer)
        {
            await multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, synchronously, so that a container disposed synchronously can dispose the backend.</summary>
    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _partitions, null)?.Detach();
        if (_owned && Interlocked.Exchange(ref _multiplexer, null) is { } multiplexer)
        {
            multiplexer.Dispose();
        }
    }

    /// <summary>Escapes the characters Redis glob patterns treat specially, so that a prefix matches literally.</summary>
    internal static string EscapeGlob(string text)
    {
        if (text.AsSpan().IndexOfAny(@"*?[]\^") < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\' or '^')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    private static List<string> Validate(RedisSessionBackendOptions options, IConnectionMultiplexer? multiplexer)
    {
        var errors = options.Validate();
        if (multiplexer is not null && options.Multiplexer is null && (options.ConnectionMultiplexerFactory is not null || !string.IsNullOrWhiteSpace(options.Configuration)))
        {
            errors.Add("The backend was given an IConnectionMultiplexer, so RedisSessionBackendOptions.Configuration and ConnectionMultiplexerFactory must stay unset.");
        }
        else if (multiplexer is null && options.ConnectionMultiplexerFactory is null && string.IsNullOrWhiteSpace(options.Configuration))
        {
            errors.Add(
                "RedisSessionBackendOptions must say where Redis is: set Configuration (Sessions:Redis:Configuration, e.g. \"127.0.0.1:6379\"), " +
                "or ConnectionMultiplexerFactory, or pass an IConnectionMultiplexer.");
        }

        return errors;
    }

    /// <summary>Starts <paramref name="script"/> on <paramref name="key"/> by SHA-1 (<c>EVALSHA</c>); the caller awaits
    /// <see cref="ScriptCall.BySha"/> and, after <c>NOSCRIPT</c> (flushed or restarted server, failover, a cluster node that
    /// never saw it), <see cref="ScriptCall.ByTextAsync"/> (<c>EVAL</c>, which caches it again).</summary>
    /// <remarks>Not an async method, so each call runs in its caller's state machine only. The <c>KEYS</c> array is
    /// <paramref name="buffers"/>'s; the caller returns it after the answer.</remarks>
    private static ScriptCall Evaluate(IDatabase database, RedisScripts script, RedisKey key, RedisCallBuffers buffers, RedisValue[] argv)
    {
        var keys = buffers.Keys;
        keys[0] = key;
        return new ScriptCall(database.ScriptEvaluateAsync(script.Sha1, keys, argv), database, script, keys, argv);
    }

    private static bool IsNoScript(RedisServerException e) => e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal);

    private static bool IsRedisFailure(Exception e) => e is RedisException or TimeoutException;

    private static string Describe(EndPoint? endpoint) => endpoint switch
    {
        IPEndPoint ip => ip.ToString(),
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        null => "(unknown)",
        _ => endpoint.ToString() ?? "(unknown)",
    };

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
                multiplexer = await _connect!().ConfigureAwait(false);
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                throw Failure(e, "the first connection");
            }

            if (multiplexer is null)
            {
                throw new InvalidOperationException("RedisSessionBackendOptions.ConnectionMultiplexerFactory returned null.");
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

    private IEnumerable<IServer> Primaries()
    {
        var multiplexer = _multiplexer;
        ObjectDisposedException.ThrowIf(_disposed || multiplexer is null, this);
        foreach (var server in multiplexer.GetServers())
        {
            if (!server.IsReplica && server.ServerType != ServerType.Sentinel)
            {
                yield return server;
            }
        }
    }

    /// <summary>Turns StackExchange.Redis's exception into one whose message names the server and the setting to change.</summary>
    private RedisSessionBackendException Failure(Exception e, string command)
    {
        var endpoint = _multiplexer is { } multiplexer ? string.Join(",", multiplexer.GetEndPoints().Select(Describe)) : "(not connected)";
        var configuration = _owned ? "Sessions:Redis:Configuration" : "the configuration of the application's IConnectionMultiplexer";
        var message = e switch
        {
            RedisConnectionException connection =>
                $"Redis at {endpoint} is not connected ({connection.FailureType}), so {command} failed at once; is the server running and reachable with these credentials? " +
                $"The connection is retried in the background and calls succeed once it is back. Check {configuration}. ({e.Message})",
            TimeoutException => _owned
                ? $"Redis at {endpoint} did not answer {command} within Sessions:Redis:CommandTimeout ({_commandTimeoutMs} ms); the server may be frozen, overloaded or unreachable. Raise CommandTimeout only if it is merely slow. ({e.Message})"
                : $"Redis at {endpoint} did not answer {command} within the asyncTimeout of the application's IConnectionMultiplexer; the server may be frozen, overloaded or unreachable. ({e.Message})",
            RedisServerException => $"Redis at {endpoint} answered {command} with an error: {e.Message}",
            _ => $"Redis at {endpoint} failed {command}: {e.Message} Check {configuration}.",
        };
        return new RedisSessionBackendException(message, e) { Endpoint = endpoint };
    }

    /// <summary>A script call by SHA-1 and what it takes to send it again by text after <c>NOSCRIPT</c>.</summary>
    private readonly record struct ScriptCall(Task<RedisResult> BySha, IDatabase Database, RedisScripts Script, RedisKey[] Keys, RedisValue[] Argv)
    {
        /// <summary>The same call by text (<c>EVAL</c>), which also caches the script on that server again.</summary>
        public Task<RedisResult> ByTextAsync() => Database.ScriptEvaluateAsync(Script.Text, Keys, Argv);
    }

    private RedisKey Prepare(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        return _keyPrefix.Length == 0 ? key : _keyPrefix + key;
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
