using System.Security.Cryptography;
using System.Text;

namespace Sessions.Memcached.Tests.Support;

internal static class Keys
{
    /// <summary>A key shaped like the core's: <c>session:</c> plus base64url(SHA-256(something)).</summary>
    public static string SessionLike(string seed) =>
        "session:" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(seed))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
