using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Sessions.Memcached.Protocol;

/// <summary>
/// Ketama-style consistent hashing: each server gets 160 points on a 32-bit ring (40 MD5 digests of "name-i", four points
/// per digest, as libketama does), and a key belongs to the first point at or after the MD5 of the key. Adding a server
/// moves only the keys that land on its points, about 1/n of them; removing one moves only its own keys.
/// </summary>
internal sealed class HashRing
{
    /// <summary>Points per server.</summary>
    public const int PointsPerServer = 160;

    private readonly uint[] _points;
    private readonly int[] _owners;

    public HashRing(IReadOnlyList<string> serverNames)
    {
        ArgumentOutOfRangeException.ThrowIfZero(serverNames.Count);
        var ring = new List<(uint Point, int Owner)>(serverNames.Count * PointsPerServer);
        Span<byte> digest = stackalloc byte[16];
        for (var owner = 0; owner < serverNames.Count; owner++)
        {
            for (var i = 0; i < PointsPerServer / 4; i++)
            {
                MD5.HashData(Encoding.UTF8.GetBytes($"{serverNames[owner]}-{i}"), digest);
                for (var h = 0; h < 4; h++)
                {
                    ring.Add((BinaryPrimitives.ReadUInt32LittleEndian(digest[(h * 4)..]), owner));
                }
            }
        }

        // Ties (vanishingly rare) are broken by owner so that every process builds the same ring.
        ring.Sort(static (a, b) => a.Point != b.Point ? a.Point.CompareTo(b.Point) : a.Owner.CompareTo(b.Owner));
        _points = [.. ring.Select(r => r.Point)];
        _owners = [.. ring.Select(r => r.Owner)];
    }

    /// <summary>The index (in the list given to the constructor) of the server that owns <paramref name="key"/>.</summary>
    public int OwnerOf(string key)
    {
        Span<byte> keyBytes = stackalloc byte[256];
        Span<byte> digest = stackalloc byte[16];
        var length = Encoding.ASCII.GetBytes(key.AsSpan(0, Math.Min(key.Length, 256)), keyBytes);
        MD5.HashData(keyBytes[..length], digest);
        var hash = BinaryPrimitives.ReadUInt32LittleEndian(digest);
        var index = Array.BinarySearch(_points, hash);
        if (index < 0)
        {
            index = ~index;
        }

        return _owners[index == _points.Length ? 0 : index];
    }
}
