using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Sessions.FileSystem;

/// <summary>
/// Where things live under the root: <c>root/ab/cd/&lt;64 hex&gt;.session</c>, where <c>abcd…</c> is the lowercase hex of
/// SHA-256(key). Two levels of 256 folders keep a million sessions at about 15 files per folder. Because every name is
/// derived from a hash, no key can address a path outside the root.
/// </summary>
/// <remarks>
/// Each leaf folder also holds <c>.lock</c>, the shard's lock file (created once, never deleted, so no unlink races),
/// and, briefly, <c>&lt;64 hex&gt;.&lt;guid&gt;.tmp</c> files that a writer renames over the record.
/// </remarks>
internal sealed class ShardedLayout(string root)
{
    public const string RecordExtension = ".session";
    public const string TempExtension = ".tmp";
    public const string LockFileName = ".lock";
    private const int HashHexLength = 64;

    public string Root { get; } = root;

    public SessionLocation Locate(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        HashKey(key, hash);
        var hex = Convert.ToHexStringLower(hash);
        var shard = Path.Combine(Root, hex[..2], hex[2..4]);
        return new SessionLocation(hex, shard, Path.Combine(shard, hex + RecordExtension), BinaryPrimitives.ReadUInt16BigEndian(hash));
    }

    /// <summary>Whether <paramref name="key"/> is the key whose record is stored under <paramref name="fileHex"/>.</summary>
    public static bool IsFileOf(string fileHex, string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        HashKey(key, hash);
        Span<char> hex = stackalloc char[HashHexLength];
        return Convert.TryToHexStringLower(hash, hex, out _) && hex.SequenceEqual(fileHex);
    }

    /// <summary>The leaf folders (<c>root/ab/cd</c>) that exist now; anything else under the root is ignored.</summary>
    public IEnumerable<string> EnumerateShards()
    {
        if (!Directory.Exists(Root))
        {
            yield break;
        }

        foreach (var first in SafeEnumerateDirectories(Root))
        {
            if (!IsHexName(Path.GetFileName(first.AsSpan()), 2))
            {
                continue;
            }

            foreach (var second in SafeEnumerateDirectories(first))
            {
                if (IsHexName(Path.GetFileName(second.AsSpan()), 2))
                {
                    yield return second;
                }
            }
        }
    }

    /// <summary>The number of a leaf folder found by <see cref="EnumerateShards"/> (<c>ab/cd</c> is 0xabcd).</summary>
    public static int ShardNumberOf(string shard)
    {
        var second = Path.GetFileName(shard.AsSpan());
        var first = Path.GetFileName(Path.GetDirectoryName(shard.AsSpan()));
        return (Convert.ToInt32(first.ToString(), 16) << 8) | Convert.ToInt32(second.ToString(), 16);
    }

    /// <summary>The lock file of a leaf folder.</summary>
    public static string LockPathOf(string shard) => Path.Combine(shard, LockFileName);

    /// <summary>Lists one leaf folder: its record files (each name once) and its temp files.</summary>
    public static ShardListing ListShard(string shard)
    {
        var records = new List<RecordFile>();
        var temps = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in SafeEnumerateFiles(shard))
        {
            var name = Path.GetFileName(path);
            if (name.EndsWith(RecordExtension, StringComparison.Ordinal))
            {
                var hex = name[..^RecordExtension.Length];
                // A directory listing taken while files are renamed may, in principle, report a name twice.
                if (IsHexName(hex, HashHexLength) && seen.Add(hex))
                {
                    records.Add(new RecordFile(hex, path));
                }
            }
            else if (name.EndsWith(TempExtension, StringComparison.Ordinal))
            {
                temps.Add(path);
            }
        }

        return new ShardListing(records, temps);
    }

    // Keys are validated printable ASCII of at most 250 characters, so they fit on the stack.
    private static void HashKey(string key, Span<byte> hash)
    {
        Span<byte> keyBytes = stackalloc byte[key.Length];
        Encoding.ASCII.GetBytes(key, keyBytes);
        SHA256.HashData(keyBytes, hash);
    }

    private static bool IsHexName(ReadOnlySpan<char> name, int length)
    {
        if (name.Length != length)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    // A folder removed by hand while we walk is simply skipped.
    private static IEnumerable<string> SafeEnumerateDirectories(string path)
    {
        try
        {
            return Directory.GetDirectories(path);
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }

    private static IEnumerable<string> SafeEnumerateFiles(string path)
    {
        try
        {
            return Directory.GetFiles(path);
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }
}

/// <summary>The paths for one key.</summary>
/// <param name="Hex">The lowercase hex of SHA-256(key): the file name without extension.</param>
/// <param name="Shard">The leaf folder that holds the record and the shard's lock file.</param>
/// <param name="FilePath">The record file.</param>
/// <param name="ShardNumber">The shard as a number, 0 to 65535 (the first two bytes of the hash).</param>
internal readonly record struct SessionLocation(string Hex, string Shard, string FilePath, int ShardNumber)
{
    public string LockPath => ShardedLayout.LockPathOf(Shard);

    /// <summary>A fresh, unique temp file name next to the record, so the final rename stays in one directory.</summary>
    public string NewTempPath() => Path.Combine(Shard, $"{Hex}.{Guid.NewGuid():N}{ShardedLayout.TempExtension}");
}

/// <summary>A record file found by a directory walk.</summary>
internal readonly record struct RecordFile(string Hex, string Path);

/// <summary>What one leaf folder holds.</summary>
internal sealed record ShardListing(IReadOnlyList<RecordFile> Records, IReadOnlyList<string> TempFiles);
