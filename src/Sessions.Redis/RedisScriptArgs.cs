using Sessions.Redis.Protocol;

namespace Sessions.Redis;

/// <summary>
/// A script call's ARGV (see <see cref="RedisScripts"/>), held as the values it is made from while the call is in flight:
/// a <c>NOSCRIPT</c> reply sends it again with <c>EVAL</c>. Values, not encoded arguments, keep the call's state small.
/// </summary>
internal interface IRedisScriptArgs
{
    /// <summary>How many ARGV entries <see cref="CopyTo"/> writes.</summary>
    int Count { get; }

    /// <summary>Writes ARGV[1..<see cref="Count"/>] to the start of <paramref name="destination"/>.</summary>
    void CopyTo(Span<RedisArg> destination);
}

/// <summary>ARGV of <see cref="RedisScripts.SetIf"/>.</summary>
internal readonly record struct SetIfArgs(long NowMs, string Mode, long ExpectedVersion, long Version, long ExpiresAtMs, ReadOnlyMemory<byte> Payload, long Expiry)
    : IRedisScriptArgs
{
    public int Count => 5;

    public void CopyTo(Span<RedisArg> destination)
    {
        destination[0] = NowMs;
        destination[1] = Mode;
        destination[2] = RedisRecordFormat.Version(ExpectedVersion);
        destination[3] = RedisRecordFormat.Value(Version, ExpiresAtMs, Payload);
        destination[4] = Expiry;
    }
}

/// <summary>ARGV of <see cref="RedisScripts.Remove"/>.</summary>
internal readonly record struct RemoveArgs(long NowMs, long? ExpectedVersion) : IRedisScriptArgs
{
    public int Count => 2;

    public void CopyTo(Span<RedisArg> destination)
    {
        destination[0] = NowMs;
        destination[1] = ExpectedVersion is { } v ? RedisRecordFormat.Version(v) : string.Empty;
    }
}

/// <summary>ARGV of <see cref="RedisScripts.Touch"/>.</summary>
internal readonly record struct TouchArgs(long NowMs, long ExpiresAtMs, long Expiry) : IRedisScriptArgs
{
    public int Count => 3;

    public void CopyTo(Span<RedisArg> destination)
    {
        destination[0] = NowMs;
        destination[1] = RedisRecordFormat.Version(ExpiresAtMs);
        destination[2] = Expiry;
    }
}
