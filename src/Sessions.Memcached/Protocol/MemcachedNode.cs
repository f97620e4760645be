using System.Net;
using System.Net.Sockets;

namespace Sessions.Memcached.Protocol;

/// <summary>
/// One server: a small pool of pipelined connections, opened on demand, and the server's up/down state. A server that
/// refuses connections or stops answering is marked down; until its retry time every call for it fails at once with a
/// message that says so, then one caller tries to reconnect, and the wait doubles (up to a limit) while it stays down.
/// </summary>
internal sealed class MemcachedNode
{
    private readonly MemcachedSessionBackendOptions _settings;
    private readonly MemcachedConnection?[] _connections;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly Lock _state = new();
    private int _next;
    private int _failures;
    private long _retryAt;
    private string? _downReason;
    private bool _disposed;

    public MemcachedNode(MemcachedServer server, MemcachedSessionBackendOptions settings)
    {
        Name = server.Name;
        _settings = settings;
        _connections = new MemcachedConnection?[settings.ConnectionsPerServer];
        EndPoint = IPAddress.TryParse(server.Host, out var address) ? new IPEndPoint(address, server.Port) : new DnsEndPoint(server.Host, server.Port);
    }

    /// <summary><c>host:port</c>, as configured (built once: the core asks for it on every call, as the key's partition).</summary>
    public string Name { get; }

    public EndPoint EndPoint { get; }

    /// <summary>A live connection: the next one in turn, opened (or re-opened) when needed.</summary>
    public ValueTask<MemcachedConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        var slot = (int)((uint)Interlocked.Increment(ref _next) % (uint)_connections.Length);
        var connection = Volatile.Read(ref _connections[slot]);
        return connection is { IsFaulted: false } ? new(connection) : new(OpenSlotAsync(slot, cancellationToken));
    }

    /// <summary>Faults every connection whose oldest reply is overdue.</summary>
    public void CheckTimeouts(long now)
    {
        foreach (var connection in _connections)
        {
            connection?.CheckTimeout(now);
        }
    }

    /// <summary>Forgets a faulted connection; a timeout also marks the server down (it stopped answering).</summary>
    public void OnConnectionFaulted(MemcachedConnection connection, Exception reason)
    {
        for (var i = 0; i < _connections.Length; i++)
        {
            Interlocked.CompareExchange(ref _connections[i], null, connection);
        }

        if (reason is MemcachedException { InnerException: TimeoutException })
        {
            MarkDown($"no reply within {_settings.OperationTimeout.TotalMilliseconds:0} ms", null);
        }
    }

    public MemcachedException ConnectionFailed(Exception cause) => new(
        $"The connection to memcached at {Name} failed ({Describe(cause)}); the outcome of the operations in flight on it is unknown. " +
        "The next call opens a new connection.",
        cause)
    { Endpoint = Name };

    public MemcachedException TimedOut() => new(
        $"memcached at {Name} did not answer within {_settings.OperationTimeout.TotalMilliseconds:0} ms; the connection was closed and the server marked down. " +
        "Check that the server is running and not overloaded, or raise the operation timeout.",
        new TimeoutException($"no reply within {_settings.OperationTimeout.TotalMilliseconds:0} ms"))
    { Endpoint = Name };

    public void Dispose()
    {
        lock (_state)
        {
            _disposed = true;
        }

        for (var i = 0; i < _connections.Length; i++)
        {
            Interlocked.Exchange(ref _connections[i], null)?.Fault(new ObjectDisposedException(nameof(MemcachedClient), "The memcached client was disposed."));
        }
    }

    private async Task<MemcachedConnection> OpenSlotAsync(int slot, CancellationToken cancellationToken)
    {
        ThrowIfDown();
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = Volatile.Read(ref _connections[slot]);
            if (connection is { IsFaulted: false })
            {
                return connection;
            }

            // Another caller may have failed to connect while this one waited for the lock.
            ThrowIfDown();
            lock (_state)
            {
                ObjectDisposedException.ThrowIf(_disposed, typeof(MemcachedClient));
            }

            try
            {
                connection = await MemcachedConnection.OpenAsync(this, _settings.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException or IOException)
            {
                throw MarkDown(Describe(ex), ex);
            }

            lock (_state)
            {
                _failures = 0;
                _downReason = null;
                if (_disposed)
                {
                    connection.Fault(new ObjectDisposedException(nameof(MemcachedClient)));
                    throw new ObjectDisposedException(nameof(MemcachedClient));
                }
            }

            Volatile.Write(ref _connections[slot], connection);
            return connection;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private void ThrowIfDown()
    {
        long remaining;
        string? reason;
        lock (_state)
        {
            if (_failures == 0)
            {
                return;
            }

            remaining = _retryAt - Environment.TickCount64;
            reason = _downReason;
        }

        if (remaining > 0)
        {
            throw new MemcachedException(
                $"memcached at {Name} is down ({reason}); retrying in {Wait(TimeSpan.FromMilliseconds(remaining))}. Check that the server is running and reachable.")
            { Endpoint = Name };
        }
    }

    private MemcachedException MarkDown(string reason, Exception? cause)
    {
        TimeSpan wait;
        lock (_state)
        {
            _failures++;
            var doubled = _settings.RetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(_failures - 1, 20));
            wait = TimeSpan.FromMilliseconds(Math.Min(doubled, _settings.MaxRetryDelay.TotalMilliseconds));
            _retryAt = Environment.TickCount64 + (long)wait.TotalMilliseconds;
            _downReason = reason;
        }

        return new MemcachedException(
            $"memcached at {Name} is down ({reason}); retrying in {Wait(wait)}. Check that the server is running and reachable.",
            cause)
        { Endpoint = Name };
    }

    private static string Wait(TimeSpan wait) => wait < TimeSpan.FromSeconds(1)
        ? $"{Math.Ceiling(wait.TotalMilliseconds):0} ms"
        : $"{Math.Ceiling(wait.TotalSeconds):0} s";

    private static string Describe(Exception ex) => ex switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused",
        SocketException { SocketErrorCode: SocketError.ConnectionReset } => "connection reset",
        SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData } => "host not found",
        SocketException { SocketErrorCode: SocketError.TimedOut } => "connection timed out",
        SocketException se => se.SocketErrorCode.ToString(),
        MemcachedException me => me.Message,
        _ => ex.Message,
    };
}
