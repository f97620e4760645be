namespace Sessions.Memcached.Protocol;

/// <summary>
/// A small memcached client for the meta protocol: routes each key to its server through a <see cref="HashRing"/>,
/// sends over the server's pooled pipelined connections, and enforces the operation timeout.
/// </summary>
internal sealed class MemcachedClient : IDisposable
{
    private readonly MemcachedNode[] _nodes;
    private readonly HashRing _ring;
    private readonly long _timeoutMs;
    private readonly ITimer _timeoutCheck;
    private int _disposed;

    public MemcachedClient(IReadOnlyList<MemcachedServer> servers, MemcachedSessionBackendOptions settings)
    {
        ArgumentOutOfRangeException.ThrowIfZero(servers.Count);
        _nodes = [.. servers.Select(s => new MemcachedNode(s, settings))];
        _ring = new HashRing([.. _nodes.Select(n => n.Name)]);
        _timeoutMs = (long)settings.OperationTimeout.TotalMilliseconds;

        // Overdue replies are found by a periodic check rather than a timer per call: no allocation per operation.
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_timeoutMs / 4, 10, 250));
        // Real time, whatever clock the backend uses for expiry: a timeout is about the network.
        _timeoutCheck = TimeProvider.System.CreateTimer(static s => ((MemcachedClient)s!).CheckTimeouts(), this, period, period);
    }

    public IReadOnlyList<MemcachedNode> Nodes => _nodes;

    /// <summary>The server that owns <paramref name="key"/>.</summary>
    public MemcachedNode NodeFor(string key) => _nodes.Length == 1 ? _nodes[0] : _nodes[_ring.OwnerOf(key)];

    /// <summary>Sends <paramref name="request"/> to the server that owns its key.</summary>
    public ValueTask<MetaReply> SendAsync(MetaRequest request, CancellationToken cancellationToken) =>
        SendAsync(NodeFor(request.Key), request, cancellationToken);

    /// <summary>Sends <paramref name="request"/> to <paramref name="node"/>.</summary>
    public async ValueTask<MetaReply> SendAsync(MemcachedNode node, MetaRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var connection = await node.GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await connection.SendAsync(request, Environment.TickCount64 + _timeoutMs, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends <c>mn</c> to every server; throws the first failure, naming the server.</summary>
    public async ValueTask PingAllAsync(CancellationToken cancellationToken)
    {
        var pings = _nodes.Select(n => SendAsync(n, MetaRequest.NoOp(), cancellationToken).AsTask()).ToArray();
        MetaReply[] replies;
        try
        {
            replies = await Task.WhenAll(pings).ConfigureAwait(false);
        }
        catch when (pings.Count(p => p.IsFaulted) > 1)
        {
            var failures = pings.Where(p => p.IsFaulted).Select(p => p.Exception!.InnerException!.Message);
            throw new MemcachedException($"{pings.Count(p => p.IsFaulted)} of {_nodes.Length} memcached servers failed: {string.Join(" ", failures)}");
        }

        foreach (var (reply, node) in replies.Zip(_nodes))
        {
            if (reply.Status != MetaStatus.NoOp)
            {
                throw new MemcachedException($"memcached at {node.Name} answered mn with {reply.Error ?? reply.Status.ToString()}; Sessions.Memcached needs memcached 1.6 or later.") { Endpoint = node.Name };
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _timeoutCheck.Dispose();
        foreach (var node in _nodes)
        {
            node.Dispose();
        }
    }

    private void CheckTimeouts()
    {
        var now = Environment.TickCount64;
        foreach (var node in _nodes)
        {
            node.CheckTimeouts(now);
        }
    }
}
