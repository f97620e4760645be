namespace Sessions.Memcached.Protocol;

/// <summary>The meta commands this client sends.</summary>
internal enum MetaCommand
{
    /// <summary><c>mg</c>: read an item (value, CAS, TTL, client flags) and optionally update its TTL.</summary>
    Get,

    /// <summary><c>ms</c>: store an item in one of the <see cref="MetaSetMode"/> modes, optionally compare-and-swap.</summary>
    Set,

    /// <summary><c>md</c>: delete an item, optionally compare-and-swap.</summary>
    Delete,

    /// <summary><c>mn</c>: a no-op the server answers with <c>MN</c>; a cheap liveness check.</summary>
    NoOp,
}

/// <summary>What an <c>mg</c> asks the server to return.</summary>
[Flags]
internal enum MetaGetFlags
{
    /// <summary>Nothing but hit or miss.</summary>
    None = 0,

    /// <summary><c>v</c>: the value.</summary>
    Value = 1,

    /// <summary><c>c</c>: the CAS value.</summary>
    Cas = 2,
}

/// <summary>The <c>M</c> flag of <c>ms</c>.</summary>
internal enum MetaSetMode
{
    /// <summary><c>MS</c>: store whatever is there.</summary>
    Set,

    /// <summary><c>ME</c>: store only when the key holds nothing (memcached's "add").</summary>
    Add,
}

/// <summary>One meta command, encoded by <see cref="MetaCommandWriter"/>.</summary>
internal readonly struct MetaRequest
{
    private MetaRequest(MetaCommand command, string key)
    {
        Command = command;
        Key = key;
        Ttl = -1;
    }

    public MetaCommand Command { get; }

    public string Key { get; }

    public MetaGetFlags GetFlags { get; private init; }

    /// <summary>For <c>ms</c>: the <c>T</c> flag. For <c>mg</c>: a new TTL to set (a touch), or -1 for none.</summary>
    public long Ttl { get; private init; }

    /// <summary>The <c>C</c> flag (compare-and-swap), or 0 for none.</summary>
    public ulong Cas { get; private init; }

    public MetaSetMode Mode { get; private init; }

    /// <summary>For <c>ms</c>: the first part of the value (a small header), sent before <see cref="Value"/>.</summary>
    public ReadOnlyMemory<byte> ValuePrefix { get; private init; }

    /// <summary>For <c>ms</c>: the rest of the value.</summary>
    public ReadOnlyMemory<byte> Value { get; private init; }

    public int ValueLength => ValuePrefix.Length + Value.Length;

    public static MetaRequest Get(string key, MetaGetFlags flags, long touchTtl = -1) =>
        new(MetaCommand.Get, key) { GetFlags = flags, Ttl = touchTtl };

    public static MetaRequest Set(string key, ReadOnlyMemory<byte> prefix, ReadOnlyMemory<byte> value, long ttl, MetaSetMode mode = MetaSetMode.Set, ulong cas = 0) =>
        new(MetaCommand.Set, key) { ValuePrefix = prefix, Value = value, Ttl = ttl, Mode = mode, Cas = cas };

    public static MetaRequest Delete(string key, ulong cas = 0) => new(MetaCommand.Delete, key) { Cas = cas };

    public static MetaRequest NoOp() => new(MetaCommand.NoOp, string.Empty);
}
