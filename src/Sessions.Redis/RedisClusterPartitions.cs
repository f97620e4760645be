using System.Collections.Concurrent;
using System.Net;
using StackExchange.Redis;

namespace Sessions.Redis;

/// <summary>
/// Which Redis Cluster primary serves a key: a table of the 16,384 hash slots to their primary's <c>host:port</c>, from the
/// cluster configuration the multiplexer last read, patched on <c>MOVED</c>, rebuilt at most once a second after a
/// configuration change or a connection failure or restoration. Outside cluster mode every key maps to <see langword="null"/>.
/// </summary>
/// <remarks>Not the multiplexer's routing: while a primary is down it sends that primary's keys to any connected server,
/// so it would name a healthy primary for a dead one's keys, which a per-partition circuit breaker must not.</remarks>
internal sealed class RedisClusterPartitions
{
    private const int SlotCount = 16384;
    private const long RebuildIntervalMs = 1000;

    /// <summary>The partition of slots the configuration assigns to no primary (failed before this app saw it, no replica
    /// promoted yet): their own, so that their failures never open the breaker of the whole store.</summary>
    internal const string UnassignedSlots = "slots without a primary";

    private readonly IConnectionMultiplexer _multiplexer;
    private readonly ConcurrentDictionary<EndPoint, string> _names = new();
    private string?[]? _owners;
    private int _stale = 1;
    private int _rebuilding;
    private long _nextRebuildAt;

    public RedisClusterPartitions(IConnectionMultiplexer multiplexer)
    {
        _multiplexer = multiplexer;
        multiplexer.HashSlotMoved += OnHashSlotMoved;
        multiplexer.ConfigurationChanged += OnChanged;
        multiplexer.ConnectionFailed += OnChanged;
        multiplexer.ConnectionRestored += OnChanged;
    }

    /// <summary>The <c>host:port</c> of the primary serving <paramref name="key"/>'s hash slot, or <see langword="null"/>.</summary>
    public string? PartitionOf(in RedisKey key)
    {
        if (Volatile.Read(ref _stale) != 0)
        {
            RebuildIfDue();
        }

        var owners = Volatile.Read(ref _owners);
        return owners is null ? null : owners[_multiplexer.HashSlot(key)];
    }

    /// <summary>Stops listening to the multiplexer (which may be the application's and outlive the backend).</summary>
    public void Detach()
    {
        _multiplexer.HashSlotMoved -= OnHashSlotMoved;
        _multiplexer.ConfigurationChanged -= OnChanged;
        _multiplexer.ConnectionFailed -= OnChanged;
        _multiplexer.ConnectionRestored -= OnChanged;
    }

    private void OnHashSlotMoved(object? sender, HashSlotMovedEventArgs e)
    {
        if (Volatile.Read(ref _owners) is { } owners && (uint)e.HashSlot < SlotCount)
        {
            owners[e.HashSlot] = NameOf(e.NewEndPoint);
        }
    }

    private void OnChanged(object? sender, EventArgs e) => Volatile.Write(ref _stale, 1);

    private void RebuildIfDue()
    {
        var now = Environment.TickCount64;
        if (now < Volatile.Read(ref _nextRebuildAt) || Interlocked.Exchange(ref _rebuilding, 1) != 0)
        {
            return;
        }

        try
        {
            Volatile.Write(ref _nextRebuildAt, now + RebuildIntervalMs);
            Volatile.Write(ref _stale, 0);
            if (!TryRebuild())
            {
                Volatile.Write(ref _stale, 1); // nothing connected yet: try again within a second
            }
        }
        catch (Exception)
        {
            Volatile.Write(ref _stale, 1); // the multiplexer is being disposed, or its view is changing: keep the old table
        }
        finally
        {
            Volatile.Write(ref _rebuilding, 0);
        }
    }

    private bool TryRebuild()
    {
        var connected = _multiplexer.GetServers().Where(s => s.IsConnected).ToList();
        if (connected.Count > 0 && connected[0].ServerType != ServerType.Cluster)
        {
            Volatile.Write(ref _owners, null); // one server (or Sentinel's primary): one partition
            return true;
        }

        if (connected.FirstOrDefault(s => !s.IsReplica && s.ClusterConfiguration is not null)?.ClusterConfiguration is not { } configuration)
        {
            return false;
        }

        var previous = Volatile.Read(ref _owners);
        var owners = new string?[SlotCount];
        foreach (var node in configuration.Nodes.Where(n => !n.IsReplica && n.EndPoint is not null))
        {
            var name = NameOf(node.EndPoint!);
            foreach (var range in node.Slots)
            {
                for (var slot = Math.Max(range.From, 0); slot <= Math.Min(range.To, SlotCount - 1); slot++)
                {
                    owners[slot] = name;
                }
            }
        }

        // A failed primary's slots can drop out of the configuration before a replica takes them over: they keep the
        // primary they had (its breaker is the one failing), or share a partition of their own; never the whole store's.
        for (var slot = 0; slot < SlotCount; slot++)
        {
            owners[slot] ??= previous?[slot] ?? UnassignedSlots;
        }

        Volatile.Write(ref _owners, owners);
        return true;
    }

    /// <summary>An endpoint as <c>host:port</c>.</summary>
    internal static string Describe(EndPoint? endpoint) => endpoint switch
    {
        IPEndPoint ip => ip.ToString(),
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endpoint?.ToString() ?? "(unknown)",
    };

    private string NameOf(EndPoint endpoint) => _names.GetOrAdd(endpoint, Describe);
}
