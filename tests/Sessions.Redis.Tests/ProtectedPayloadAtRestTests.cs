using System.Text;
using Microsoft.AspNetCore.DataProtection;
using NUnit.Framework;
using Sessions.Engine;
using Sessions.Redis.Tests.Support;
using StackExchange.Redis;

namespace Sessions.Redis.Tests;

/// <summary>
/// <see cref="SessionOptions.ProtectPayloads"/> on this backend, against the real redis-server the tests start: with it on,
/// no key or value this app wrote holds a byte sequence of a known value (the control, with it off, finds it, so the
/// search is able to fail).
/// </summary>
public sealed class ProtectedPayloadAtRestTests
{
    private const string Secret = "plaintext-canary-51c3a9e0";

    [TestCase(false, SessionFormat.Binary, ExpectedResult = true)]
    [TestCase(true, SessionFormat.Binary, ExpectedResult = false)]
    [TestCase(true, SessionFormat.Json, ExpectedResult = false)]
    public async Task<bool> Redis_holds_the_value_only_when_payloads_are_not_protected(bool protect, SessionFormat format)
    {
        var multiplexer = await SharedMultiplexers.RedisAsync();
        var prefix = $"protect-{Guid.NewGuid():N}:";
        await using var backend = new RedisSessionBackend(multiplexer);
        var options = new SessionOptions { ProtectPayloads = protect, Format = format, KeyPrefix = prefix };
        var store = new SessionStore(backend, options, "redis", null, null, null, new EphemeralDataProtectionProvider());
        var session = store.CreateNew();
        session.Set("name", Encoding.UTF8.GetBytes(Secret));
        await store.CommitAsync(session, CancellationToken.None);

        var loaded = await store.LoadAsync(session.Id, CancellationToken.None);
        Assert.That(loaded!.TryGetValue("name", out var value) ? Encoding.UTF8.GetString(value) : null, Is.EqualTo(Secret), "the session reads back");

        // Everything under the app's prefix, byte for byte: key names, each value as GET returns it (strings), and DUMP
        // (Redis's serialization of a value of any type; it may LZF-compress long strings, hence GET as well).
        var server = multiplexer.GetServers().Single();
        var db = multiplexer.GetDatabase();
        var found = false;
        var keys = 0;
        await foreach (var key in server.KeysAsync(pattern: prefix + "*"))
        {
            keys++;
            var dump = (byte[]?)await db.KeyDumpAsync(key) ?? [];
            var raw = await db.KeyTypeAsync(key) == RedisType.String ? (byte[]?)await db.StringGetAsync(key) ?? [] : [];
            found |= Contains(Encoding.UTF8.GetBytes(key.ToString()), Secret) || Contains(dump, Secret) || Contains(raw, Secret);
        }

        Assert.That(keys, Is.GreaterThan(0), "the session's key is under the prefix");
        return found;
    }

    private static bool Contains(byte[] haystack, string text) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0
        || haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(text)) >= 0;
}
