using System.Buffers.Binary;
using Sessions.Backends;
using Sessions.Memcached.Protocol;

namespace Sessions.Memcached;

/// <summary>
/// Stores sessions in memcached (1.6 or later) over the meta protocol, on one server or a consistent-hashed pool. Each
/// record is one item holding a <see cref="SessionRecordHeader"/> record (exact version and expiry, which memcached's CAS
/// value and whole-second TTL cannot be); conditional writes are compare-and-swap on memcached's CAS value.
/// </summary>
/// <remarks>
/// <para>The item's TTL is the expiry rounded up to whole seconds plus one, so memcached's one-second clock never drops a
/// record early; reads compare the header's expiry with the clock, so it is never returned late. TTLs beyond 30 days are
/// sent as absolute Unix times, as memcached requires.</para>
/// <para><see cref="TouchAsync"/> rewrites the item by compare-and-swap: memcached can move an item's TTL but not change a
/// byte of its value, so a TTL-only touch would leave the stored expiry stale.</para>
/// <para>Values over the server's item size limit fail with <see cref="MemcachedItemTooLargeException"/>. Memcached may
/// evict records before they expire when it runs out of memory; size it (<c>-m</c>) for the sessions it holds.</para>
/// </remarks>
public sealed class MemcachedSessionBackend : ISessionBackend, ISessionBackendLimits, ISessionBackendHealthProbe, ISessionBackendPartitions, IAsyncDisposable
{
    // What an item holds besides the payload: memcached's item header with CAS (56 bytes), flags and line ends, rounded up.
    private const int ItemOverheadBytes = 256;

    // Compare-and-swap retries before giving up on a key that changes under every attempt.
    private const int MaxAttempts = 32;

    // The first byte of the 17-byte little-endian header that 0.x wrote ('S'); still read, so an upgrade logs nobody out.
    private const byte LegacyTag = 0x53;

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
        if (new MemcachedSessionBackendOptionsValidator().Validate(null, options).Failures is { } failures)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(options));
        }

        _client = new MemcachedClient(MemcachedServer.TryParseList(options.Servers, out _)!, options);
        _time = timeProvider ?? TimeProvider.System;
        _itemSizeLimit = options.ItemSizeLimit;
    }

    /// <summary>
    /// The largest session payload one item holds: <see cref="MemcachedSessionBackendOptions.ItemSizeLimit"/> less the
    /// 17-byte record header, the longest key (250 bytes) and memcached's per-item overhead (256 bytes allowed). The core
    /// refuses a larger session (413) before sending it, so a refused write never costs the stored one.
    /// </summary>
    public int MaxPayloadBytes => _itemSizeLimit - SessionRecordHeader.Length - SessionKeys.MaxKeyLength - ItemOverheadBytes;

    /// <summary>The servers, as <c>host:port</c>, in the order configured.</summary>
    public IReadOnlyList<string> Servers => [.. _client.Nodes.Select(n => n.Name)];

    /// <inheritdoc />
    /// <remarks>With more than one server: the server (<c>host:port</c>) the consistent hash picks for the key (a down
    /// server's keys never move to another). With one server: <see langword="null"/>. No I/O, no allocation.</remarks>
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
    /// <exception cref="SessionRecordCorruptException">The item is not a session record.</exception>
    /// <exception cref="MemcachedException">The server is down, did not answer in time, or answered with an error.</exception>
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        Check(key, cancellationToken);
        var reply = await _client.SendAsync(MetaRequest.Get(key, MetaGetFlags.Value), cancellationToken).ConfigureAwait(false);
        if (reply.Status == MetaStatus.Miss)
        {
            return null;
        }

        var value = reply.Status == MetaStatus.Value ? reply.Value! : throw Unexpected(key, "mg", reply);
        return TryRead(value) is { } record
            ? (record.ExpiresAt > _time.GetUtcNow() ? record : null)
            : throw new SessionRecordCorruptException(
                $"The item under \"{key}\" on memcached at {_client.NodeFor(key).Name} is not a Sessions record ({value.Length} bytes, format byte " +
                $"{(value.Length > 0 ? $"0x{value[0]:X2}" : "none")}). Another application may be writing keys with the same prefix; give sessions their own SessionOptions.KeyPrefix.")
            { Key = key, StoredBytes = value.Length };
    }

    /// <inheritdoc />
    /// <exception cref="MemcachedItemTooLargeException">The record exceeds what an item holds; nothing was sent.</exception>
    /// <exception cref="MemcachedException">The server is down, did not answer in time, or answered with an error.</exception>
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        Check(key, cancellationToken);
        ArgumentNullException.ThrowIfNull(record);
        if (condition.Kind is not (SetConditionKind.Always or SetConditionKind.IfAbsent or SetConditionKind.IfVersion))
        {
            throw new ArgumentOutOfRangeException(nameof(condition), condition, "Unknown SetCondition kind.");
        }

        if (condition.Kind == SetConditionKind.Always && record.ExpiresAt > _time.GetUtcNow())
        {
            var reply = await StoreAsync(key, record, MetaSetMode.Set, 0, cancellationToken).ConfigureAwait(false);
            return reply.Status == MetaStatus.Success ? true : throw Unexpected(key, "ms", reply);
        }

        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (condition.Kind == SetConditionKind.IfAbsent && record.ExpiresAt > _time.GetUtcNow())
            {
                var added = await StoreAsync(key, record, MetaSetMode.Add, 0, cancellationToken).ConfigureAwait(false);
                if (added.Status != MetaStatus.NotStored)
                {
                    return added.Status == MetaStatus.Success ? true : throw Unexpected(key, "ms ME", added);
                }
            }

            // Memcached holds an item (or the record is already expired). It counts only if live: an expired record can
            // outlive its ExpiresAt in memcached by up to the TTL's rounding, and is replaced by compare-and-swap.
            var (current, live) = await ReadWithCasAsync(key, cancellationToken).ConfigureAwait(false);
            if (!condition.IsSatisfiedBy(live))
            {
                return false;
            }

            if (current.Status == MetaStatus.Miss && condition.Kind == SetConditionKind.IfAbsent && record.ExpiresAt > _time.GetUtcNow())
            {
                continue; // gone since the add: add again
            }

            // A record already expired when written leaves the key holding nothing live: any leftover is deleted.
            var expired = record.ExpiresAt <= _time.GetUtcNow();
            if (expired && current.Status == MetaStatus.Miss)
            {
                return true;
            }

            var reply = expired
                ? await _client.SendAsync(MetaRequest.Delete(key, current.Cas), cancellationToken).ConfigureAwait(false)
                : await StoreAsync(key, record, MetaSetMode.Set, current.Cas, cancellationToken).ConfigureAwait(false);

            // NotFound, gone meanwhile: the key holds nothing live, which IfVersion fails and the others take (IfAbsent by adding again).
            bool? gone = condition.Kind == SetConditionKind.IfVersion ? false : expired ? true : null;
            if (Decided(key, expired ? "md C" : "ms C", reply, gone) is { } done)
            {
                return done;
            }
        }

        throw TooMuchContention(key, $"SetAsync({condition.Kind})");
    }

    /// <inheritdoc />
    /// <exception cref="MemcachedException">The server is down, did not answer in time, or answered with an error.</exception>
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        Check(key, cancellationToken);

        // Read first even without a version: md alone would report deleting a record that expired a moment ago but is
        // still in memcached, and only a live record counts.
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (current, live) = await ReadWithCasAsync(key, cancellationToken).ConfigureAwait(false);
            if (current.Status == MetaStatus.Miss || (live is not null && expectedVersion is { } version && live.Version != version))
            {
                return false;
            }

            var reply = await _client.SendAsync(MetaRequest.Delete(key, current.Cas), cancellationToken).ConfigureAwait(false);
            if (Decided(key, "md C", reply, notFound: false) is { } done)
            {
                return done && live is not null;
            }
        }

        throw TooMuchContention(key, "RemoveAsync");
    }

    /// <inheritdoc />
    /// <exception cref="MemcachedException">The server is down, did not answer in time, or answered with an error.</exception>
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        Check(key, cancellationToken);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (current, live) = await ReadWithCasAsync(key, cancellationToken).ConfigureAwait(false);
            if (live is null)
            {
                return false;
            }

            var expired = expiresAt <= _time.GetUtcNow();
            var reply = expired
                ? await _client.SendAsync(MetaRequest.Delete(key, current.Cas), cancellationToken).ConfigureAwait(false)
                : await StoreAsync(key, live with { ExpiresAt = expiresAt }, MetaSetMode.Set, current.Cas, cancellationToken).ConfigureAwait(false);
            if (Decided(key, expired ? "md C" : "ms C", reply, notFound: false) is { } done)
            {
                return done;
            }
        }

        throw TooMuchContention(key, "TouchAsync");
    }

    /// <summary>Sends <c>mn</c> to every server; throws, naming the server, when one does not answer.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>A task that completes when every server answered.</returns>
    /// <exception cref="MemcachedException">A server is down, did not answer in time, or is not memcached 1.6 or later.</exception>
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
        return seconds <= 30L * 24 * 60 * 60 ? seconds : (long)Math.Ceiling(expiresAt.ToUnixTimeMilliseconds() / 1000.0) + 1;
    }

    /// <summary>The record in <paramref name="value"/>, expired or not; <see langword="null"/> when it is not a Sessions record.</summary>
    private static SessionRecord? TryRead(byte[] value)
    {
        if (SessionRecordHeader.TryRead(value, out var record))
        {
            return record;
        }

        if (value.Length < SessionRecordHeader.Length || value[0] != LegacyTag)
        {
            return null;
        }

        var ms = Math.Clamp(BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(9)), DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds());
        return new SessionRecord(value.AsMemory(SessionRecordHeader.Length), DateTimeOffset.FromUnixTimeMilliseconds(ms), BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(1)));
    }

    /// <summary>The item with its CAS value, and the live record in it (<see langword="null"/> when missing, expired, or not
    /// a Sessions record, which counts as absent for writes, touches and deletes).</summary>
    private async ValueTask<(MetaReply Reply, SessionRecord? Live)> ReadWithCasAsync(string key, CancellationToken cancellationToken)
    {
        var reply = await _client.SendAsync(MetaRequest.Get(key, MetaGetFlags.Value | MetaGetFlags.Cas), cancellationToken).ConfigureAwait(false);
        return reply.Status switch
        {
            MetaStatus.Miss => (reply, null),
            MetaStatus.Value => (reply, TryRead(reply.Value!) is { } record && record.ExpiresAt > _time.GetUtcNow() ? record : null),
            _ => throw Unexpected(key, "mg", reply),
        };
    }

    private async ValueTask<MetaReply> StoreAsync(string key, SessionRecord record, MetaSetMode mode, ulong cas, CancellationToken cancellationToken)
    {
        var payload = record.Payload;
        if (payload.Length > MaxPayloadBytes)
        {
            // Never sent: memcached answers an oversized set by deleting the item it held, which would lose the stored session.
            throw TooLarge(key, payload.Length, $"was not sent: it exceeds what an item holds under the item size limit of {_itemSizeLimit} bytes (at most {MaxPayloadBytes} payload bytes; MemcachedSessionBackendOptions.ItemSizeLimit)");
        }

        var header = new byte[SessionRecordHeader.Length];
        SessionRecordHeader.Write(header, record.Version, record.ExpiresAt.ToUnixTimeMilliseconds(), default);
        var reply = await _client.SendAsync(MetaRequest.Set(key, header, payload, TtlFor(record.ExpiresAt, _time.GetUtcNow()), mode, cas), cancellationToken).ConfigureAwait(false);
        return reply.Status == MetaStatus.ServerError && reply.Error!.Contains("too large", StringComparison.OrdinalIgnoreCase)
            ? throw TooLarge(key, payload.Length, $"was refused: it exceeds the server's item size limit (\"{reply.Error}\")")
            : reply;
    }

    private MemcachedItemTooLargeException TooLarge(string key, int payloadBytes, string what)
    {
        var server = _client.NodeFor(key).Name;
        var bytes = SessionRecordHeader.Length + payloadBytes;
        return new MemcachedItemTooLargeException(
            $"The session record under \"{key}\" for memcached at {server} ({bytes} bytes: a {payloadBytes}-byte payload and a {SessionRecordHeader.Length}-byte header) {what}. " +
            "Start memcached with a larger limit (the -I option, for example -I 4m; the default is 1m) and set ItemSizeLimit to match, or keep less in the session (SessionOptions.MaxPayloadBytes).")
        { Endpoint = server, ValueBytes = bytes };
    }

    private void Check(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>The outcome of a compare-and-swap write or delete: <see langword="true"/> when done, <paramref name="notFound"/>
    /// when the item was gone, <see langword="null"/> when it changed since the read (try again); else it throws.</summary>
    private bool? Decided(string key, string command, MetaReply reply, bool? notFound) => reply.Status switch
    {
        MetaStatus.Success => true,
        MetaStatus.NotFound => notFound,
        MetaStatus.Exists => null,
        _ => throw Unexpected(key, command, reply),
    };

    private MemcachedException Unexpected(string key, string command, MetaReply reply)
    {
        var server = _client.NodeFor(key).Name;
        var detail = reply.Error ?? reply.Status.ToString();
        var hint = detail.Contains("out of memory", StringComparison.OrdinalIgnoreCase) ? " The server is out of memory for items of this size; give it more memory (-m)." : string.Empty;
        return new MemcachedException($"memcached at {server} answered {command} for \"{key}\" with {detail}.{hint}") { Endpoint = server };
    }

    private MemcachedException TooMuchContention(string key, string operation) => new(
        $"{operation} on \"{key}\" gave up after {MaxAttempts} compare-and-swap attempts: the record changed under every one. Something is rewriting this key continuously.")
    { Endpoint = _client.NodeFor(key).Name };
}
