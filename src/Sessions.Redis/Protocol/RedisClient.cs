using System.Collections.Concurrent;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Text;

namespace Sessions.Redis.Protocol;

/// <summary>
/// The small Redis client the backend uses: one multiplexed connection per server, and, against a Redis Cluster,
/// routing by hash slot with <c>MOVED</c>/<c>ASK</c> redirects. Whether the server is a cluster is found out on first use
/// (<c>CLUSTER SLOTS</c> answers, or says cluster support is disabled).
/// </summary>
internal sealed class RedisClient : IAsyncDisposable, IDisposable
{
    private const int MaxRedirects = 5;

    private readonly RedisConfiguration _configuration;
    private readonly RemoteCertificateValidationCallback? _certificateValidation;
    private readonly ConcurrentDictionary<RedisEndpoint, EndpointConnection> _connections = new();
    private readonly Lock _lock = new();
    private Task<ClusterSlotMap?>? _topology;
    private EndpointConnection? _standalone;
    private volatile ClusterSlotMap? _cluster;
    private int _refreshing;
    private bool _disposed;

    public RedisClient(RedisConfiguration configuration, RemoteCertificateValidationCallback? certificateValidation = null)
    {
        _configuration = configuration;
        _certificateValidation = certificateValidation;
    }

    public RedisConfiguration Configuration => _configuration;

    /// <summary>Whether the server turned out to be a Redis Cluster (<see langword="null"/> before the first command).</summary>
    public bool? IsCluster => _topology is { IsCompletedSuccessfully: true } t ? t.Result is not null : null;

    /// <summary>The protocol the connections agreed on (every server of a cluster runs the same version);
    /// <see langword="null"/> before the first connection is up.</summary>
    public RedisProtocol? Protocol
    {
        get
        {
            foreach (var connection in _connections.Values)
            {
                if (connection.Protocol is { } protocol)
                {
                    return protocol;
                }
            }

            return null;
        }
    }

    /// <summary>Sends a command that touches at most one key, routed to the server that holds it.</summary>
    /// <param name="args">The command name and its arguments.</param>
    /// <param name="keyIndex">Which argument is the key (for cluster routing), or -1 for none.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The reply; error replies are returned, not thrown (see <see cref="ThrowIfError"/>).</returns>
    public ValueTask<RespValue> ExecuteAsync(ReadOnlySpan<RedisArg> args, int keyIndex, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_standalone is { } connection)
        {
            return connection.SendAsync(args, asking: false, cancellationToken);
        }

        var slot = keyIndex < 0 ? 0 : SlotOf(args[keyIndex]);
        return ExecuteRoutedAsync(EncodedCommand.Encode(args), slot, cancellationToken);
    }

    /// <summary>The connections to every primary (one for a single server), for commands such as SCAN and PING that go to all.</summary>
    public async ValueTask<IReadOnlyList<EndpointConnection>> GetPrimariesAsync(CancellationToken cancellationToken)
    {
        var cluster = await GetTopologyAsync(cancellationToken).ConfigureAwait(false);
        return cluster is null ? [_standalone!] : [.. cluster.Primaries.Select(GetConnection)];
    }

    /// <summary>Throws <see cref="RedisServerException"/> with the server's text when <paramref name="reply"/> is an error.</summary>
    public static RespValue ThrowIfError(RespValue reply, string command)
    {
        if (reply.IsError)
        {
            throw new RedisServerException($"Redis answered {command} with an error: {reply.AsString()}");
        }

        return reply;
    }

    /// <summary>Closes every connection and waits for their background work to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!MarkDisposed())
        {
            return;
        }

        foreach (var connection in _connections.Values)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Closes every connection without waiting: commands in flight fail at once.</summary>
    public void Dispose()
    {
        if (!MarkDisposed())
        {
            return;
        }

        foreach (var connection in _connections.Values)
        {
            connection.Dispose();
        }
    }

    private bool MarkDisposed()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }

            _disposed = true;
            return true;
        }
    }

    /// <summary>Sends <paramref name="command"/> to the server that holds <paramref name="slot"/>, following redirects;
    /// returns the command's buffer when done (it may be sent more than once until then).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RespValue> ExecuteRoutedAsync(EncodedCommand command, int slot, CancellationToken cancellationToken)
    {
        try
        {
            return await ExecuteRoutedCoreAsync(command, slot, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            command.Return();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RespValue> ExecuteRoutedCoreAsync(EncodedCommand command, int slot, CancellationToken cancellationToken)
    {
        var cluster = await GetTopologyAsync(cancellationToken).ConfigureAwait(false);
        if (cluster is null)
        {
            return await _standalone!.SendAsync(command, asking: false, ownsCommand: false, cancellationToken).ConfigureAwait(false);
        }

        var target = cluster[slot] ?? cluster.Primaries[0];
        var asking = false;
        for (var attempt = 0; ; attempt++)
        {
            var reply = await GetConnection(target).SendAsync(command, asking, ownsCommand: false, cancellationToken).ConfigureAwait(false);
            if (!reply.IsError || attempt >= MaxRedirects)
            {
                return reply;
            }

            if (reply.IsErrorWithPrefix("MOVED "u8) && ParseRedirect(reply) is { } moved)
            {
                // The slot lives elsewhere now: patch this slot at once, and reload the whole map in the background.
                cluster[moved.Slot] = moved.Endpoint;
                target = moved.Endpoint;
                asking = false;
                RefreshInBackground();
            }
            else if (reply.IsErrorWithPrefix("ASK "u8) && ParseRedirect(reply) is { } ask)
            {
                // The slot is migrating: ask the target this once, without changing the map.
                target = ask.Endpoint;
                asking = true;
            }
            else if (reply.IsErrorWithPrefix("TRYAGAIN"u8) || reply.IsErrorWithPrefix("CLUSTERDOWN"u8))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20 << attempt), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                return reply;
            }
        }
    }

    private Task<ClusterSlotMap?> GetTopologyAsync(CancellationToken cancellationToken)
    {
        Task<ClusterSlotMap?> topology;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // A failed discovery (server down at start-up) is not remembered: the next command discovers again. It is
            // started outside any caller's stack (Task.Run), so a discovery that fails at once cannot complete before
            // it is stored and be kept as the answer for good.
            topology = _topology is { IsFaulted: false, IsCanceled: false } known ? known : _topology = Task.Run(DiscoverAsync, CancellationToken.None);
        }

        return topology.IsCompleted ? topology : topology.WaitAsync(cancellationToken);
    }

    private async Task<ClusterSlotMap?> DiscoverAsync()
    {
        var (map, seed) = await LoadSlotMapAsync(CancellationToken.None).ConfigureAwait(false);
        if (map is null)
        {
            _standalone = seed;
        }
        else
        {
            _cluster = map;
        }

        return map;
    }

    /// <summary>Asks each known server in turn for the slot map; <see langword="null"/> map when the server is not a cluster.</summary>
    private async Task<(ClusterSlotMap? Map, EndpointConnection Seed)> LoadSlotMapAsync(CancellationToken cancellationToken)
    {
        var candidates = _cluster?.Primaries.Concat(_configuration.Endpoints).Distinct().ToList() ?? [.. _configuration.Endpoints];
        Exception? last = null;
        foreach (var endpoint in candidates)
        {
            var connection = GetConnection(endpoint);
            try
            {
                var reply = await connection.SendAsync(["CLUSTER", "SLOTS"], asking: false, cancellationToken).ConfigureAwait(false);
                if (reply.IsError)
                {
                    // "ERR This instance has cluster support disabled" (Redis) or an unknown-command error: a single server.
                    return (null, connection);
                }

                return (ClusterSlotMap.FromClusterSlots(reply, endpoint), connection);
            }
            catch (RedisConnectionException e)
            {
                last = e;
            }
        }

        throw last ?? new RedisConnectionException("The Redis configuration names no server. Set Sessions:Redis:Configuration.");
    }

    private void RefreshInBackground()
    {
        if (Interlocked.Exchange(ref _refreshing, 1) != 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                if (await LoadSlotMapAsync(CancellationToken.None).ConfigureAwait(false) is ({ } map, _))
                {
                    _cluster = map;
                    lock (_lock)
                    {
                        _topology = Task.FromResult<ClusterSlotMap?>(map);
                    }
                }
            }
            catch (Exception e) when (e is RedisConnectionException or RedisProtocolException or TimeoutException or ObjectDisposedException)
            {
                // The next MOVED tries again; meanwhile redirects keep commands working.
            }
            finally
            {
                Volatile.Write(ref _refreshing, 0);
            }
        });
    }

    private EndpointConnection GetConnection(RedisEndpoint endpoint)
    {
        if (_connections.TryGetValue(endpoint, out var existing))
        {
            return existing;
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _connections.GetOrAdd(endpoint, e => new EndpointConnection(e, _configuration, _certificateValidation));
        }
    }

    private static int SlotOf(RedisArg key)
    {
        Span<byte> buffer = stackalloc byte[512];
        return HashSlot.Of(buffer[..key.CopyKeyTo(buffer)]);
    }

    private static (int Slot, RedisEndpoint Endpoint)? ParseRedirect(RespValue reply)
    {
        // "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381"
        var parts = Encoding.ASCII.GetString(reply.Bytes!).Split(' ');
        return parts.Length == 3 && int.TryParse(parts[1], out var slot) && slot is >= 0 and < HashSlot.Count
            ? (slot, RedisEndpoint.Parse(parts[2]))
            : null;
    }
}
