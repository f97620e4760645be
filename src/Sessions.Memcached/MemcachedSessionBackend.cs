using Sessions.Backends;
using Sessions.Memcached.Protocol;

namespace Sessions.Memcached;

/// <summary>
/// Stores sessions in memcached (1.6 or later) over the meta protocol, on one server or a consistent-hashed pool.
/// Conditional writes are compare-and-swap on memcached's CAS value; expiry is memcached's own TTL, backed by an exact
/// expiry stored with the record so that a record is never returned after its <see cref="SessionRecord.ExpiresAt"/>.
/// </summary>
/// <remarks>
/// <para>Each record is one memcached item: a 17-byte header (version and exact expiry) and the payload. The item's TTL is
/// the expiry rounded up to whole seconds plus one second, so that memcached's one-second clock never drops a record
/// early; reads compare the header's expiry with the clock, so it is not returned late either. TTLs beyond 30 days are
/// sent as absolute Unix times, as memcached requires.</para>
/// <para><see cref="TouchAsync"/> rewrites the item (header and payload, compare-and-swap) rather than only moving its TTL
/// with <c>mg T</c>: memcached can change an item's TTL in place but not a byte of its value, so a TTL-only touch would
/// leave the stored expiry stale, and memcached's whole-second TTL cannot stand in for it.</para>
/// <para>Values larger than the server's item size limit (1 MB unless memcached runs with <c>-I</c>) fail with
/// <see cref="MemcachedItemTooLargeException"/>. Memcached may evict records before they expire when it runs out of
/// memory; size it (<c>-m</c>) for the sessions it holds.</para>
/// </remarks>
public sealed class MemcachedSessionBackend : ISessionBackend, ISessionBackendLimits, ISessionBackendHealthProbe, ISessionBackendPartitions, IAsyncDisposable
{
    /// <summary>What an item holds besides the payload, allowed for in <see cref="MaxPayloadBytes"/>: memcached's item header with CAS (56 bytes), flags and line ends, rounded up.</summary>
    private const int ItemOverheadBytes = 256;

    // Compare-and-swap retries before giving up on a key that changes under every attempt.
    private const int MaxAttempts = 32;
    private const long ThirtyDaysInSeconds = 30L * 24 * 60 * 60;

    private readonly MemcachedClient _client;
    private readonly TimeProvider _time;
    private readonly int _itemSizeLimit;
    private int _disposed;

    /// <summary>Creates a backend; connections open on first use.</summary>
    /// <param name="options">The servers and timeouts.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which and what to set.</exception>
    public MemcachedSessionBackend(MemcachedSessionBackendOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = MemcachedSessionBackendOptionsValidator.Problems(options);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _client = new MemcachedClient(new MemcachedClientSettings
        {
            Servers = MemcachedServer.TryParseList(options.Servers, out _)!,
            ConnectTimeout = options.ConnectTimeout,
            OperationTimeout = options.OperationTimeout,
            ConnectionsPerServer = options.ConnectionsPerServer,
            RetryDelay = options.RetryDelay,
            MaxRetryDelay = options.MaxRetryDelay,
        });
        _time = timeProvider ?? TimeProvider.System;
        _itemSizeLimit = options.ItemSizeLimit;
    }

    /// <summary>
    /// The largest session payload one item holds: <see cref="MemcachedSessionBackendOptions.ItemSizeLimit"/> (memcached's
    /// <c>-I</c>) less the 17-byte record header, the longest key (250 bytes) and memcached's per-item overhead (256 bytes
    /// allowed). The core refuses a larger session (413) before sending it, so a refused write never costs the stored one.
    /// </summary>
    public int MaxPayloadBytes => _itemSizeLimit - MemcachedRecordFormat.HeaderLength - SessionKeys.MaxKeyLength - ItemOverheadBytes;

    /// <summary>The servers, as <c>host:port</c>, in the order configured.</summary>
    public IReadOnlyList<string> Servers => [.. _client.Nodes.Select(n => n.Name)];

    /// <inheritdoc />
    /// <remarks>
    /// With more than one server: the server (<c>host:port</c>, as configured) that the consistent hash picks for the key,
    /// so the core's circuit breaker fails only the sessions of a server that is down (the pool never moves a down server's
    /// keys to another one). With one server: <see langword="null"/>, one breaker for the whole store. No I/O, no allocation.
    /// </remarks>
    public string? GetPartition(string key) =>
        _client.Nodes.Count == 1 || key is null || key.Length == 0 ? null : _client.NodeFor(key).Name;

    /// <summary>The server (<c>host:port</c>) that holds <paramref name="key"/>.</summary>
    /// <param name="key">A storage key.</param>
    /// <returns>The server's name as configured.</returns>
    public string ServerFor(string key)
    {
        SessionKeys.ThrowIfInvalid(key);
        return _client.NodeFor(key).Name;
    }

    /// <inheritdoc />
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        Check(key, cancellationToken);
        var reply = await _client.SendAsync(MetaRequest.Get(key, MetaGetFlags.Value), cancellationToken).ConfigureAwait(false);
        switch (reply.Status)
        {
            case MetaStatus.Miss:
                return null;
            case MetaStatus.Value when !MemcachedRecordFormat.TryRead(reply.Value!, out _, out _):
                var value = reply.Value!;
                throw new SessionRecordCorruptException(
                    $"The item under \"{key}\" on memcached at {_client.NodeFor(key).Name} is not a Sessions record ({value.Length} bytes, format byte " +
                    $"{(value.Length > 0 ? $"0x{value[0]:X2}" : "none")}). Another application may be writing keys with the same prefix; give sessions their own SessionOptions.KeyPrefix.")
                { Key = key, StoredBytes = value.Length };
            case MetaStatus.Value:
                return Live(key, reply.Value!, out var record) ? record : null;
            default:
                throw Unexpected(key, "mg", reply);
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        Check(key, cancellationToken);
        ArgumentNullException.ThrowIfNull(record);
        var now = _time.GetUtcNow();
        if (record.ExpiresAt <= now)
        {
            return await SetExpiredAsync(key, condition, cancellationToken).ConfigureAwait(false);
        }

        var header = MemcachedRecordFormat.Header(record.Version, record.ExpiresAt);
        var ttl = TtlFor(record.ExpiresAt, now);
        switch (condition.Kind)
        {
            case SetConditionKind.Always:
                var reply = await StoreAsync(key, header, record.Payload, ttl, MetaSetMode.Set, 0, cancellationToken).ConfigureAwait(false);
                return reply.Status == MetaStatus.Success ? true : throw Unexpected(key, "ms", reply);

            case SetConditionKind.IfAbsent:
                for (var attempt = 0; attempt < MaxAttempts; attempt++)
                {
                    reply = await StoreAsync(key, header, record.Payload, ttl, MetaSetMode.Add, 0, cancellationToken).ConfigureAwait(false);
                    if (reply.Status == MetaStatus.Success)
                    {
                        return true;
                    }

                    if (reply.Status != MetaStatus.NotStored)
                    {
                        throw Unexpected(key, "ms ME", reply);
                    }

                    // Memcached holds an item. It counts only if live: an expired record can outlive its ExpiresAt in memcached
                    // by up to the TTL's rounding, and is replaced by compare-and-swap.
                    var current = await ReadWithCasAsync(key, cancellationToken).ConfigureAwait(false);
                    if (current.Status == MetaStatus.Miss)
                    {
                        continue;
                    }

                    if (Live(key, current.Value!, out _))
                    {
                        return false;
                    }

                    reply = await StoreAsync(key, header, record.Payload, ttl, MetaSetMode.Set, current.Cas, cancellationToken).ConfigureAwait(false);
                    if (reply.Status == MetaStatus.Success)
                    {
                        return true;
                    }

                    ThrowUnlessCasMiss(key, "ms C", reply);
                }

                throw TooMuchContention(key, "SetAsync(IfAbsent)");

            case SetConditionKind.IfVersion:
                for (var attempt = 0; attempt < MaxAttempts; attempt++)
                {
                    var current = await ReadWithCasAsync(key, cancellationToken).ConfigureAwait(false);
                    if (current.Status == MetaStatus.Miss || !Live(key, current.Value!, out var live) || live.Version != condition.ExpectedVersion)
                    {
                        return false;
                    }

                    reply = await StoreAsync(key, header, record.Payload, ttl, MetaSetMode.Set, current.Cas, cancellationToken).ConfigureAwait(false);
                    switch (reply.Status)
                    {
                        case MetaStatus.Success:
                            return true;
                        case MetaStatus.NotFound:
                            return false;
                        default:
                            // EX: the item changed since the read (a write, or a touch that kept the version); read again.
                            ThrowUnlessCasMiss(key, "ms C", reply);
                            break;
                    }
                }

                throw TooMuchContention(key, "SetAsync(IfVersion)");

            default:
                throw new ArgumentOutOfRangeException(nameof(condition), condition, "Unknown SetCondition kind.");
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        Check(key, cancellationToken);

        // Read first even without a version: md alone would report deleting a record that expired a moment ago but is
        // still in memcached, and only a live record counts.
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await ReadWithCasAsync(key, cancellationToken).ConfigureAwait(false);
            if (current.Status == MetaStatus.Miss)
            {
                return false;
            }

            var live = Live(key, current.Value!, out var record);
            if (live && expectedVersion is { } version && record.Version != version)
            {
                return false;
            }

            var reply = await _client.SendAsync(MetaRequest.Delete(key, current.Cas), cancellationToken).ConfigureAwait(false);
            switch (reply.Status)
            {
                case MetaStatus.Success:
                    return live;
                case MetaStatus.NotFound:
                    return false;
                default:
                    ThrowUnlessCasMiss(key, "md C", reply);
                    break;
            }
        }

        throw TooMuchContention(key, "RemoveAsync");
    }

    /// <inheritdoc />
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        Check(key, cancellationToken);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await ReadWithCasAsync(key, cancellationToken).ConfigureAwait(false);
            if (current.Status == MetaStatus.Miss || !Live(key, current.Value!, out var record))
            {
                return false;
            }

            var now = _time.GetUtcNow();
            var reply = expiresAt <= now
                ? await _client.SendAsync(MetaRequest.Delete(key, current.Cas), cancellationToken).ConfigureAwait(false)
                : await StoreAsync(key, MemcachedRecordFormat.Header(record.Version, expiresAt), record.Payload, TtlFor(expiresAt, now), MetaSetMode.Set, current.Cas, cancellationToken).ConfigureAwait(false);
            switch (reply.Status)
            {
                case MetaStatus.Success:
                    return true;
                case MetaStatus.NotFound:
                    return false;
                default:
                    ThrowUnlessCasMiss(key, expiresAt <= now ? "md C" : "ms C", reply);
                    break;
            }
        }

        throw TooMuchContention(key, "TouchAsync");
    }

    /// <summary>Sends <c>mn</c> to every server; throws, naming the server, when one does not answer.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>A task that completes when every server answered.</returns>
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _client.PingAllAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the connections. Records stay in memcached. Idempotent.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _client.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The memcached TTL for a record expiring at <paramref name="expiresAt"/>: relative seconds, or an absolute Unix time beyond 30 days.</summary>
    internal static long TtlFor(DateTimeOffset expiresAt, DateTimeOffset now)
    {
        // Rounded up, plus a second: memcached's clock ticks once a second, so an exact TTL could drop the item up to a
        // second early. The header's exact expiry decides when the record stops being returned.
        var seconds = (long)Math.Ceiling((expiresAt - now).TotalSeconds) + 1;
        return seconds <= ThirtyDaysInSeconds
            ? seconds
            : (long)Math.Ceiling(expiresAt.ToUnixTimeMilliseconds() / 1000.0) + 1;
    }

    // A record already expired when written: the key then holds nothing live. Leftovers are deleted; the condition
    // is still checked against the live record, if any.
    private async ValueTask<bool> SetExpiredAsync(string key, SetCondition condition, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await ReadWithCasAsync(key, cancellationToken).ConfigureAwait(false);
            SessionRecord? live = null;
            if (current.Status == MetaStatus.Value && Live(key, current.Value!, out var record))
            {
                live = record;
            }

            if (!condition.IsSatisfiedBy(live))
            {
                return false;
            }

            if (current.Status == MetaStatus.Miss)
            {
                return true;
            }

            var reply = await _client.SendAsync(MetaRequest.Delete(key, current.Cas), cancellationToken).ConfigureAwait(false);
            switch (reply.Status)
            {
                case MetaStatus.Success:
                    return true;
                case MetaStatus.NotFound:
                    // Gone meanwhile: fine for Always and IfAbsent (the key holds nothing live), not for IfVersion.
                    return condition.Kind != SetConditionKind.IfVersion;
            }

            ThrowUnlessCasMiss(key, "md C", reply);
        }

        throw TooMuchContention(key, "SetAsync");
    }

    private async ValueTask<MetaReply> ReadWithCasAsync(string key, CancellationToken cancellationToken)
    {
        var reply = await _client.SendAsync(MetaRequest.Get(key, MetaGetFlags.Value | MetaGetFlags.Cas), cancellationToken).ConfigureAwait(false);
        return reply.Status is MetaStatus.Value or MetaStatus.Miss ? reply : throw Unexpected(key, "mg", reply);
    }

    private async ValueTask<MetaReply> StoreAsync(string key, byte[] header, ReadOnlyMemory<byte> payload, long ttl, MetaSetMode mode, ulong cas, CancellationToken cancellationToken)
    {
        if (payload.Length > MaxPayloadBytes)
        {
            // Never sent: memcached answers an oversized set by deleting the item it held, which would lose the stored session.
            var server = _client.NodeFor(key).Name;
            var bytes = header.Length + payload.Length;
            throw new MemcachedItemTooLargeException(
                $"The session record under \"{key}\" was not sent to memcached at {server}: {bytes} bytes ({payload.Length}-byte payload, " +
                $"{header.Length}-byte header) exceed what an item holds under its item size limit of {_itemSizeLimit} bytes " +
                $"(at most {MaxPayloadBytes} payload bytes; MemcachedSessionBackendOptions.ItemSizeLimit). Start memcached with a larger limit " +
                "(the -I option, for example -I 4m; the default is 1m) and set ItemSizeLimit to match, or keep less in the session.")
            { Server = server, ValueBytes = bytes };
        }

        var reply = await _client.SendAsync(MetaRequest.Set(key, header, payload, ttl, mode, cas), cancellationToken).ConfigureAwait(false);
        if (reply.Status == MetaStatus.ServerError && reply.Error!.Contains("too large", StringComparison.OrdinalIgnoreCase))
        {
            var server = _client.NodeFor(key).Name;
            var bytes = header.Length + payload.Length;
            throw new MemcachedItemTooLargeException(
                $"memcached at {server} refused the session record under \"{key}\": {bytes} bytes ({payload.Length}-byte payload, " +
                $"{header.Length}-byte header) exceed its item size limit (\"{reply.Error}\"). Start memcached with a larger limit " +
                "(the -I option, for example -I 4m; the default is 1m) or keep less in the session (SessionOptions.MaxPayloadBytes).")
            { Server = server, ValueBytes = bytes };
        }

        return reply;
    }

    private bool Live(string key, byte[] value, out SessionRecord record)
    {
        if (!MemcachedRecordFormat.TryRead(value, out var version, out var expiresAt))
        {
            // Not a Sessions record: absent as far as writes, touches and deletes are concerned (GetAsync reports it as corrupt).
            record = null!;
            return false;
        }

        record = new SessionRecord(value.AsMemory(MemcachedRecordFormat.HeaderLength), expiresAt, version);
        return expiresAt > _time.GetUtcNow();
    }

    private void Check(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void ThrowUnlessCasMiss(string key, string command, MetaReply reply)
    {
        if (reply.Status != MetaStatus.Exists)
        {
            throw Unexpected(key, command, reply);
        }
    }

    private MemcachedException Unexpected(string key, string command, MetaReply reply)
    {
        var server = _client.NodeFor(key).Name;
        var detail = reply.Error ?? reply.Status.ToString();
        var hint = detail.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
            ? " The server is out of memory for items of this size; give it more memory (-m)."
            : string.Empty;
        return new MemcachedException($"memcached at {server} answered {command} for \"{key}\" with {detail}.{hint}") { Server = server };
    }

    private MemcachedException TooMuchContention(string key, string operation) => new(
        $"{operation} on \"{key}\" gave up after {MaxAttempts} compare-and-swap attempts: the record changed under every one. " +
        "Something is rewriting this key continuously.")
    { Server = _client.NodeFor(key).Name };
}
