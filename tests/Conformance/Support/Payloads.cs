using System.Text;

namespace Sessions.Conformance;

/// <summary>Payloads the kit writes, and a readable description of how two payloads differ.</summary>
internal static class Payloads
{
    public static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    public static byte[] Filled(int length, byte value)
    {
        var payload = new byte[length];
        payload.AsSpan().Fill(value);
        return payload;
    }

    /// <summary>Deterministic pseudo-random bytes, so that a failure reproduces.</summary>
    public static byte[] Random(int length, int seed)
    {
        var payload = new byte[length];
        new Random(seed).NextBytes(payload);
        return payload;
    }

    /// <summary>Every byte value 0..255, twice, the second time in reverse order.</summary>
    public static byte[] EveryByteValue()
    {
        var payload = new byte[512];
        for (var i = 0; i < 256; i++)
        {
            payload[i] = (byte)i;
            payload[511 - i] = (byte)i;
        }

        return payload;
    }

    /// <summary><see langword="null"/> when equal; otherwise where and how they differ.</summary>
    public static string? Difference(ReadOnlyMemory<byte> actual, ReadOnlyMemory<byte> expected)
    {
        var a = actual.Span;
        var e = expected.Span;
        if (a.SequenceEqual(e))
        {
            return null;
        }

        var common = a.CommonPrefixLength(e);
        var detail = common < Math.Min(a.Length, e.Length)
            ? $"first difference at index {common}: expected 0x{e[common]:X2}, got 0x{a[common]:X2}"
            : $"one is a prefix of the other, they agree on the first {common} bytes";
        return $"expected {e.Length} bytes, got {a.Length}; {detail}";
    }
}
