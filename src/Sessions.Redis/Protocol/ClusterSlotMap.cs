namespace Sessions.Redis.Protocol;

/// <summary>Which primary serves each of the 16384 slots, from <c>CLUSTER SLOTS</c>; patched slot by slot on <c>MOVED</c>.</summary>
internal sealed class ClusterSlotMap
{
    private readonly RedisEndpoint?[] _slots = new RedisEndpoint?[HashSlot.Count];

    private ClusterSlotMap()
    {
    }

    public IReadOnlyList<RedisEndpoint> Primaries { get; private set; } = [];

    public RedisEndpoint? this[int slot]
    {
        get => Volatile.Read(ref _slots[slot]);
        set => Volatile.Write(ref _slots[slot], value);
    }

    /// <summary>Builds the map from a <c>CLUSTER SLOTS</c> reply: [[start, end, [host, port, id...], replicas...], ...].</summary>
    /// <param name="reply">The reply.</param>
    /// <param name="seed">The server that answered; its host stands in for an empty or unknown host.</param>
    public static ClusterSlotMap FromClusterSlots(RespValue reply, RedisEndpoint seed)
    {
        var map = new ClusterSlotMap();
        var primaries = new List<RedisEndpoint>();
        foreach (var range in reply.Items ?? [])
        {
            var items = range.Items;
            if (items is not { Length: >= 3 } || items[2].Items is not { Length: >= 2 } node)
            {
                throw new RedisProtocolException($"Unexpected CLUSTER SLOTS entry from {seed}: {range.Describe()}.");
            }

            var host = node[0].AsString();
            if (string.IsNullOrEmpty(host) || host == "?")
            {
                host = seed.Host;
            }

            var endpoint = new RedisEndpoint(host, (int)node[1].AsInt64());
            if (!primaries.Contains(endpoint))
            {
                primaries.Add(endpoint);
            }

            for (var slot = items[0].AsInt64(); slot <= items[1].AsInt64() && slot < HashSlot.Count; slot++)
            {
                map._slots[slot] = endpoint;
            }
        }

        map.Primaries = primaries;
        return map;
    }
}
