using System.Security.Cryptography;
using System.Text;

namespace Sessions.FileSystem.Tests.Support;

/// <summary>Plants random bytes where the backend keeps a key's file (<c>root/ab/cd/abcd….session</c>), bypassing the backend.</summary>
internal static class UnreadableSessionFile
{
    public static async ValueTask WriteAsync(string directory, string key, CancellationToken cancellationToken)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(key)));
        var shard = Path.Combine(Path.GetFullPath(directory), hex[..2], hex[2..4]);
        Directory.CreateDirectory(shard);
        await File.WriteAllBytesAsync(Path.Combine(shard, hex + ".session"), RandomNumberGenerator.GetBytes(300), cancellationToken);
    }
}
