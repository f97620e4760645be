using System.Runtime.CompilerServices;
using System.Text;
using Sessions.Backends;
using Sessions.Redis.Protocol;

namespace Sessions.Redis;

/// <summary>
/// Stores sessions in Redis, Redis Cluster or Garnet. Each record is one string key (a 17-byte header with version and
/// expiry, then the payload) with a native expiry. A read is one <c>GET</c>; unconditional and if-absent writes are one
/// <c>SET ... PX</c> (<c>NX</c>); conditional writes, conditional deletes and touches are one Lua script each, so every
/// operation is atomic and one round trip. Lists keys with <c>SCAN</c> (on every primary of a cluster).
/// </summary>
/// <remarks>A backend created from options opens (and disposes) its own connections: register it once (a singleton) and
/// let concurrent requests share its pipelined connection. Backends created from a <see cref="RedisConnection"/> share
/// that connection and leave it open when they are disposed.</remarks>
public sealed class RedisSessionBackend : ISessionBackend, ISessionKeyEnumerator, ISessionBackendHealthProbe, IAsyncDisposable, IDisposable
{
    private const int ScanPageSize = 1000;

    private readonly RedisClient _client;
    private readonly TimeProvider _time;
    private readonly string _keyPrefix;
    private readonly bool _ownsClient;
    private volatile bool _disposed;

    /// <summary>Creates a backend that connects as <paramref name="options"/> says. Connecting happens on first use.</summary>
    /// <param name="options">The configuration string, key prefix and database.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says what to set.</exception>
    public RedisSessionBackend(RedisSessionBackendOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        var configuration = RedisConfiguration.Parse(options.Configuration);
        if (options.Database is { } database)
        {
            configuration = configuration with { Database = database };
        }

        _client = new RedisClient(configuration, options.ServerCertificateValidation);
        _ownsClient = true;
        _keyPrefix = options.KeyPrefix;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Creates a backend that uses <paramref name="connection"/>, which the caller owns: disposing the backend
    /// leaves it open, and several backends may share it.</summary>
    /// <param name="connection">The connection, from <see cref="RedisConnection.Create"/>.</param>
    /// <param name="options">The key prefix; <see cref="RedisSessionBackendOptions.Configuration"/> and
    /// <see cref="RedisSessionBackendOptions.ServerCertificateValidation"/> must be left unset (the connection has them), and
    /// <see cref="RedisSessionBackendOptions.Database"/> unset or the connection's. <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says what to set.</exception>
    public RedisSessionBackend(RedisConnection connection, RedisSessionBackendOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new RedisSessionBackendOptions();
        var errors = options.Validate(connection);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _client = connection.Client;
        _ownsClient = false;
        _keyPrefix = options.KeyPrefix;
        _time = timeProvider ?? TimeProvider.System;
    }

    internal RedisClient Client => _client;

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var redisKey = Prepare(key, cancellationToken);
        var reply = await _client.ExecuteAsync(["GET", redisKey], 1, cancellationToken).ConfigureAwait(false);
        if (reply.IsNull)
        {
            return null;
        }

        RedisClient.ThrowIfError(reply, "GET");
        var value = reply.Bytes!;
        if (!RedisRecordFormat.TryRead(value, out var version, out var expiresAtMs))
        {
            throw new InvalidDataException(
                $"The Redis key \"{redisKey}\" does not hold a session record ({value.Length} bytes, first byte {(value.Length > 0 ? value[0] : 0)}); " +
                "another application may be writing under the same key prefix. Give sessions their own prefix or database.");
        }

        return expiresAtMs <= NowMs()
            ? null
            : new SessionRecord(value.AsMemory(RedisRecordFormat.HeaderLength), DateTimeOffset.FromUnixTimeMilliseconds(expiresAtMs), version);
    }

    /// <inheritdoc />
    public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        var redisKey = Prepare(key, cancellationToken);
        ArgumentNullException.ThrowIfNull(record);
        var expiresAtMs = record.ExpiresAt.ToUnixTimeMilliseconds();
        var expiry = ExpiryArgument(expiresAtMs);
        if (condition.Kind == SetConditionKind.Always && expiry == 0)
        {
            // Already expired: writing it would store nothing readable, so make sure nothing is there.
            return DeleteAsync(redisKey, cancellationToken);
        }

        var mode = condition.Kind switch
        {
            SetConditionKind.Always => "w",
            SetConditionKind.IfAbsent => "a",
            SetConditionKind.IfVersion => "v",
            _ => throw new ArgumentOutOfRangeException(nameof(condition), condition.Kind, "Unknown SetCondition kind."),
        };
        var argv = new SetIfArgs(NowMs(), mode, condition.ExpectedVersion, record.Version, expiresAtMs, record.Payload, expiry);
        return RunScriptAsync(RedisScripts.SetIf, redisKey, argv, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var redisKey = Prepare(key, cancellationToken);
        return RunScriptAsync(RedisScripts.Remove, redisKey, new RemoveArgs(NowMs(), expectedVersion), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var redisKey = Prepare(key, cancellationToken);
        var expiresAtMs = expiresAt.ToUnixTimeMilliseconds();
        return RunScriptAsync(RedisScripts.Touch, redisKey, new TouchArgs(NowMs(), expiresAtMs, ExpiryArgument(expiresAtMs)), cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var fullPrefix = _keyPrefix + prefix;
        var pattern = EscapeGlob(fullPrefix) + "*";

        // SCAN may return a key more than once (when the table grows mid-scan): remember what was listed.
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var primary in await _client.GetPrimariesAsync(cancellationToken).ConfigureAwait(false))
        {
            var cursor = "0";
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                var reply = RedisClient.ThrowIfError(
                    await primary.SendAsync(["SCAN", cursor, "MATCH", pattern, "COUNT", ScanPageSize], asking: false, cancellationToken).ConfigureAwait(false),
                    "SCAN");
                if (reply.Items is not [var next, { Items: { } keys }])
                {
                    throw new RedisServerException($"Redis answered SCAN with {reply.Describe()}, not [cursor, keys].");
                }

                cursor = next.AsString() ?? "0";
                foreach (var item in keys)
                {
                    var key = Encoding.ASCII.GetString(item.Bytes ?? []);
                    if (key.StartsWith(fullPrefix, StringComparison.Ordinal) && listed.Add(key))
                    {
                        yield return key[_keyPrefix.Length..];
                    }
                }
            }
            while (cursor != "0");
        }
    }

    /// <inheritdoc />
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var primary in await _client.GetPrimariesAsync(cancellationToken).ConfigureAwait(false))
        {
            var reply = await primary.SendAsync(["PING"], asking: false, cancellationToken).ConfigureAwait(false);
            if (reply.IsError)
            {
                throw new RedisServerException($"Redis at {primary.Endpoint} answered PING with an error: {reply.AsString()}");
            }
        }
    }

    /// <summary>Closes the connections this backend opened; calls made afterwards throw <see cref="ObjectDisposedException"/>
    /// and calls in flight fail. A <see cref="RedisConnection"/> the backend was given stays open (its owner disposes it).</summary>
    /// <returns>A task that completes when the connections are closed.</returns>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return _ownsClient ? _client.DisposeAsync() : default;
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, without waiting for the connections' background work to end; offered
    /// so that a container disposed synchronously can dispose the backend.</summary>
    public void Dispose()
    {
        _disposed = true;
        if (_ownsClient)
        {
            _client.Dispose();
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

    private string Prepare(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        return _keyPrefix.Length == 0 ? key : _keyPrefix + key;
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The expiry for PEXPIREAT, or 0 when it has passed (the scripts then delete instead).</summary>
    private long ExpiryArgument(long expiresAtMs) => expiresAtMs > NowMs() ? expiresAtMs : 0;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> DeleteAsync(string redisKey, CancellationToken cancellationToken)
    {
        RedisClient.ThrowIfError(await _client.ExecuteAsync(["DEL", redisKey], 1, cancellationToken).ConfigureAwait(false), "DEL");
        return true;
    }

    /// <summary>Runs <paramref name="script"/> on <paramref name="redisKey"/> with <paramref name="argv"/>, by SHA;
    /// <see langword="true"/> when it returned 1.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RunScriptAsync<TArgs>(RedisScripts script, string redisKey, TArgs argv, CancellationToken cancellationToken)
        where TArgs : struct, IRedisScriptArgs
    {
        var reply = await SendScript(script, bySha: true, redisKey, argv, cancellationToken).ConfigureAwait(false);
        if (reply.IsErrorWithPrefix("NOSCRIPT"u8))
        {
            // The script cache was flushed (or this server never saw the script): send the text; EVAL caches it again.
            reply = await SendScript(script, bySha: false, redisKey, argv, cancellationToken).ConfigureAwait(false);
        }

        if (reply.IsError)
        {
            RedisClient.ThrowIfError(reply, $"the {script.Name} script"); // the message is only built for an error
        }

        return reply.AsInt64() == 1;
    }

    /// <summary><c>EVALSHA sha 1 key argv...</c> (or <c>EVAL text 1 key argv...</c>), built on the stack and encoded before this returns.</summary>
    private ValueTask<RespValue> SendScript<TArgs>(RedisScripts script, bool bySha, string redisKey, in TArgs argv, CancellationToken cancellationToken)
        where TArgs : struct, IRedisScriptArgs
    {
        var args = default(ScriptCommandArgs);
        Span<RedisArg> span = args;
        span[0] = bySha ? "EVALSHA" : "EVAL";
        span[1] = bySha ? script.Sha1 : script.Text;
        span[2] = 1;
        span[3] = redisKey;
        argv.CopyTo(span[4..]);
        return _client.ExecuteAsync(span[..(4 + argv.Count)], 3, cancellationToken);
    }

    /// <summary>A script call's arguments on the stack: EVALSHA, SHA, key count, key and up to five ARGV.</summary>
    [InlineArray(9)]
    private struct ScriptCommandArgs
    {
        private RedisArg _element;
    }
}
