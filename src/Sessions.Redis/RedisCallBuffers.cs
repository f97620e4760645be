using System.Buffers;
using Microsoft.Extensions.ObjectPool;
using StackExchange.Redis;

namespace Sessions.Redis;

/// <summary>
/// What one script call hands StackExchange.Redis, pooled (about 0.5 KB a conditional write): a byte buffer from
/// <see cref="ArrayPool{T}.Shared"/> and the <c>KEYS</c> and exact-length <c>ARGV</c> arrays (the library sends an array's
/// whole length). <see cref="Return"/> only after the call completed with a reply: a failed or abandoned call's message may
/// still sit in the library's backlog, so its buffers are left to the garbage collector.
/// </summary>
internal sealed class RedisCallBuffers
{
    private static readonly DefaultObjectPool<RedisCallBuffers> Pool = new(new DefaultPooledObjectPolicy<RedisCallBuffers>(), 256);

    private byte[]? _bytes;

    public RedisKey[] Keys { get; } = new RedisKey[1];

    public RedisValue[] Argv2 { get; } = new RedisValue[2];

    public RedisValue[] Argv3 { get; } = new RedisValue[3];

    public RedisValue[] Argv5 { get; } = new RedisValue[5];

    public static RedisCallBuffers Rent() => Pool.Get();

    /// <summary>A buffer of at least <paramref name="length"/> bytes, one per instance and call.</summary>
    public byte[] Bytes(int length)
    {
        Release();
        return _bytes = ArrayPool<byte>.Shared.Rent(length);
    }

    public void Return()
    {
        Keys[0] = default;
        Array.Clear(Argv2);
        Array.Clear(Argv3);
        Array.Clear(Argv5);
        Release();
        Pool.Return(this);
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _bytes, null) is { } bytes)
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
