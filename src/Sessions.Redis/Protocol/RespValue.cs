using System.Buffers.Text;
using System.Text;

namespace Sessions.Redis.Protocol;

/// <summary>The kinds of RESP reply this client distinguishes (RESP3 types are folded into their RESP2 equivalents).</summary>
internal enum RespType : byte
{
    Null = 0,
    SimpleString,
    Error,
    Integer,
    BulkString,
    Array,

    /// <summary>A RESP3 out-of-band push: never the reply to a command.</summary>
    Push,
}

/// <summary>One parsed reply. Bulk and simple strings keep their raw bytes; arrays their items.</summary>
internal readonly struct RespValue
{
    private RespValue(RespType type, long integer, byte[]? bytes, RespValue[]? items)
    {
        Type = type;
        Integer = integer;
        Bytes = bytes;
        Items = items;
    }

    public static RespValue Null => default;

    public RespType Type { get; }

    public long Integer { get; }

    /// <summary>The bytes of a bulk string, simple string or error.</summary>
    public byte[]? Bytes { get; }

    public RespValue[]? Items { get; }

    public bool IsNull => Type == RespType.Null;

    public bool IsError => Type == RespType.Error;

    public static RespValue Simple(byte[] bytes) => new(RespType.SimpleString, 0, bytes, null);

    public static RespValue Error(byte[] bytes) => new(RespType.Error, 0, bytes, null);

    public static RespValue Int(long value) => new(RespType.Integer, value, null, null);

    public static RespValue Bulk(byte[] bytes) => new(RespType.BulkString, 0, bytes, null);

    public static RespValue Array(RespValue[] items, bool push = false) => new(push ? RespType.Push : RespType.Array, 0, null, items);

    /// <summary>The text of a string or error reply (UTF-8), the digits of an integer, or <see langword="null"/>.</summary>
    public string? AsString() => Type switch
    {
        RespType.Integer => Integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ when Bytes is not null => Encoding.UTF8.GetString(Bytes),
        _ => null,
    };

    /// <summary>An integer reply, or a string reply holding an integer (SCAN cursors, CLUSTER SLOTS ports).</summary>
    public long AsInt64()
    {
        if (Type == RespType.Integer)
        {
            return Integer;
        }

        if (Bytes is not null && Utf8Parser.TryParse(Bytes, out long value, out var consumed) && consumed == Bytes.Length)
        {
            return value;
        }

        throw new RedisProtocolException($"Expected an integer reply, got {Describe()}.");
    }

    /// <summary>Whether this is an error reply whose text starts with <paramref name="prefix"/> (for example <c>NOSCRIPT</c>).</summary>
    public bool IsErrorWithPrefix(ReadOnlySpan<byte> prefix) => Type == RespType.Error && Bytes is not null && Bytes.AsSpan().StartsWith(prefix);

    public string Describe() => Type switch
    {
        RespType.Null => "nil",
        RespType.Integer => $"integer {Integer}",
        RespType.Array or RespType.Push => $"array of {Items!.Length}",
        RespType.Error => $"error \"{AsString()}\"",
        RespType.BulkString => $"bulk string of {Bytes!.Length} bytes",
        _ => $"\"{AsString()}\"",
    };

    public override string ToString() => Describe();
}
