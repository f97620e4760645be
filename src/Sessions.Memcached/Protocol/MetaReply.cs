namespace Sessions.Memcached.Protocol;

/// <summary>The status code a meta command is answered with.</summary>
internal enum MetaStatus
{
    /// <summary><c>VA</c>: a hit, with a value.</summary>
    Value,

    /// <summary><c>HD</c>: success without a value (stored, deleted, or a hit when no value was asked for).</summary>
    Success,

    /// <summary><c>EN</c>: <c>mg</c> found nothing.</summary>
    Miss,

    /// <summary><c>NS</c>: <c>ms</c> did not store (add over an existing item, replace of a missing one).</summary>
    NotStored,

    /// <summary><c>EX</c>: the CAS value did not match: someone changed the item.</summary>
    Exists,

    /// <summary><c>NF</c>: the item was not found (CAS store or delete of a missing item).</summary>
    NotFound,

    /// <summary><c>MN</c>: the answer to <c>mn</c>.</summary>
    NoOp,

    /// <summary><c>SERVER_ERROR ...</c>: the server could not do it (for example: object too large for cache).</summary>
    ServerError,

    /// <summary><c>CLIENT_ERROR ...</c> or <c>ERROR</c>: the server did not understand the command.</summary>
    ClientError,
}

/// <summary>A parsed reply: the status, and the value and flags the command asked for.</summary>
internal readonly record struct MetaReply(MetaStatus Status, byte[]? Value, ulong Cas, long Ttl, uint ClientFlags, string? Error);
