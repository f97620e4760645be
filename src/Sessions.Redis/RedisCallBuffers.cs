using System.Buffers;
using Microsoft.Extensions.ObjectPool;
using StackExchange.Redis;

namespace Sessions.Redis;

/// <summary>
/// What one command hands StackExchange.Redis, pooled: a byte buffer from <see cref="ArrayPool{T}.Shared"/> and a script's
/// <c>KEYS</c> and exact-length <c>ARGV</c> arrays (the library sends an array's whole length). Saves about 0.5 KB per
/// conditional write.
/// </summary>
/// <remarks>Call <see cref="Return"/> only after the command completed with a reply: a failed or abandoned call's message
/// may still sit in the library's backlog, so its buffers are left to the garbage collector.</remarks>
internal sealed class RedisCallBuffers
{
    private static readonly DefaultObjectPool<RedisCallBuffers> Pool = new(new Policy(), 256);

    private byte[]? _bytes;

    public RedisKey[] Keys { get; } = new RedisKey[1];

    public RedisValue[] Argv2 { get; } = new RedisValue[2];

    public RedisValue[] Argv3 { get; } = new RedisValue[3];

    public RedisValue[] Argv5 { get; } = new RedisValue[5];

    public static RedisCallBuffers Rent() => Pool.Get();

    /// <summary>A buffer of at least <paramref name="length"/> bytes, one per instance and call.</summary>
    public byte[] Bytes(int length)
    {
        if (_bytes is { } previous)
        {
            ArrayPool<byte>.Shared.Return(previous);
        }

        return _bytes = ArrayPool<byte>.Shared.Rent(length);
    }

    public void Return()
    {
        Keys[0] = default;
        Array.Clear(Argv2);
        Array.Clear(Argv3);
        Array.Clear(Argv5);
        if (_bytes is { } bytes)
        {
            _bytes = null;
            ArrayPool<byte>.Shared.Return(bytes);
        }

        Pool.Return(this);
    }

    private sealed class Policy : PooledObjectPolicy<RedisCallBuffers>
    {
        public override RedisCallBuffers Create() => new();

        public override bool Return(RedisCallBuffers obj) => true;
    }
}
