using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Sessions.FileSystem;

/// <summary>
/// Where things live under the root: <c>root/ab/cd/&lt;64 hex&gt;.session</c>, where <c>abcd…</c> is the lowercase hex of
/// SHA-256(key), so no key can address a path outside the root and a million sessions make about 15 files per folder.
/// Each leaf folder (a shard) also holds <c>.lock</c>, its lock file (never deleted, so no unlink races), and briefly
/// <c>&lt;64 hex&gt;.&lt;guid&gt;.tmp</c> files that a writer renames over the record.
/// </summary>
internal sealed class ShardedLayout(string root)
{
    public const string RecordExtension = ".session";
    public const string TempExtension = ".tmp";

    public string Root { get; } = root;

    public SessionLocation Locate(string key)
    {
        var hash = Hash(key);
        var hex = Convert.ToHexStringLower(hash);
        var shard = Path.Combine(Root, hex[..2], hex[2..4]);
        return new SessionLocation(hex, shard, Path.Combine(shard, hex + RecordExtension), BinaryPrimitives.ReadUInt16BigEndian(hash));
    }

    /// <summary>Whether <paramref name="key"/> is the key whose record is stored under <paramref name="fileHex"/>.</summary>
    public static bool IsFileOf(string fileHex, string key) => Convert.ToHexStringLower(Hash(key)) == fileHex;

    /// <summary>The leaf folders (<c>root/ab/cd</c>) that exist now; anything else under the root is ignored.</summary>
    public IEnumerable<string> EnumerateShards() =>
        from first in List(Root, Directory.GetDirectories)
        where IsHex(Path.GetFileName(first), 2)
        from second in List(first, Directory.GetDirectories)
        where IsHex(Path.GetFileName(second), 2)
        select second;

    /// <summary>The number of a leaf folder (<c>ab/cd</c> is 0xabcd), which picks its in-process lock stripe.</summary>
    public static int ShardNumberOf(string shard) =>
        Convert.ToInt32(Path.GetFileName(Path.GetDirectoryName(shard)) + Path.GetFileName(shard), 16);

    /// <summary>The record files of one leaf folder (each name once, as hex and path) and its temp files.</summary>
    public static (List<(string Hex, string Path)> Records, List<string> TempFiles) ListShard(string shard)
    {
        var files = List(shard, Directory.GetFiles);
        var records = files
            .Where(path => path.EndsWith(RecordExtension, StringComparison.Ordinal))
            .Select(path => (Hex: Path.GetFileName(path)[..^RecordExtension.Length], Path: path))
            .Where(file => IsHex(file.Hex, 64))
            .DistinctBy(file => file.Hex) // a listing taken during renames may, in principle, report a name twice
            .ToList();
        return (records, files.Where(path => path.EndsWith(TempExtension, StringComparison.Ordinal)).ToList());
    }

    /// <summary>Creates a directory, owner-only (0700) on Unix.</summary>
    public static DirectoryInfo CreateDirectory(string path) => OperatingSystem.IsWindows()
        ? Directory.CreateDirectory(path)
        : Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    /// <summary>Options for a file this package creates: owner-only (0600) on Unix, unbuffered, no sharing.</summary>
    public static FileStreamOptions OwnerOnly(FileMode mode, FileAccess access)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = FileShare.None, BufferSize = 0 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return options;
    }

    // Keys are validated printable ASCII of at most 250 characters.
    private static byte[] Hash(string key) => SHA256.HashData(Encoding.ASCII.GetBytes(key));

    private static bool IsHex(string name, int length) => name.Length == length && !name.AsSpan().ContainsAnyExcept("0123456789abcdef");

    // A folder removed by hand while we walk is simply skipped.
    private static string[] List(string path, Func<string, string[]> list)
    {
        try
        {
            return list(path);
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }
}

/// <summary>The paths for one key: the hex of SHA-256(key) (the file name), the leaf folder, the record file, and the
/// shard's number (0 to 65535, the first two bytes of the hash).</summary>
internal readonly record struct SessionLocation(string Hex, string Shard, string FilePath, int ShardNumber);
