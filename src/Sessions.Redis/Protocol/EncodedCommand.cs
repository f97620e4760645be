using System.Buffers;

namespace Sessions.Redis.Protocol;

/// <summary>
/// A command in its wire form (a RESP array of bulk strings), in a buffer rented from <see cref="ArrayPool{T}.Shared"/>.
/// Encoding happens on the caller's thread as the command is issued, so the caller's arguments (payloads included) are
/// free again when the call returns, and the writer loop only copies bytes. Whoever owns it returns the buffer once no
/// connection can still write it (see <see cref="PendingCommand"/>).
/// </summary>
internal readonly struct EncodedCommand
{
    private readonly byte[] _buffer;

    private EncodedCommand(byte[] buffer, int length, string name)
    {
        _buffer = buffer;
        Length = length;
        Name = name;
    }

    /// <summary>The command's name (its first argument), for error messages.</summary>
    public string Name { get; }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public static EncodedCommand Encode(ReadOnlySpan<RedisArg> args)
    {
        var length = RedisArg.ArrayHeaderLength(args.Length);
        foreach (ref readonly var arg in args)
        {
            length += arg.EncodedLength;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var at = RedisArg.EncodeArrayHeader(buffer, args.Length);
        foreach (ref readonly var arg in args)
        {
            at += arg.Encode(buffer.AsSpan(at));
        }

        return new EncodedCommand(buffer, at, args[0].ToString());
    }

    public void Return() => ArrayPool<byte>.Shared.Return(_buffer);
}
