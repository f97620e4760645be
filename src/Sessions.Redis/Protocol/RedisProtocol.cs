namespace Sessions.Redis.Protocol;

/// <summary>The RESP version a connection speaks.</summary>
internal enum RedisProtocol
{
    /// <summary>RESP2: every server speaks it; the connection starts in it.</summary>
    Resp2 = 2,

    /// <summary>RESP3, switched to with <c>HELLO 3</c> (Redis 6 and later, Garnet).</summary>
    Resp3 = 3,
}
