using System.Text;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Tests.Support;
using StackExchange.Redis;

namespace Sessions.Redis.Tests;

/// <summary>After <c>SCRIPT FLUSH</c> (or a restart, or a failover) the server no longer knows the scripts; the next
/// conditional write, delete and touch still succeed, on every server kind (the NOSCRIPT reply is answered with EVAL).</summary>
[TestFixture("redis")]
[TestFixture("garnet")]
[TestFixture("cluster")]
public sealed class ScriptCacheTests(string server)
{
    [Test]
    public async Task Conditional_operations_succeed_after_SCRIPT_FLUSH()
    {
        var multiplexer = server switch
        {
            "redis" => await SharedMultiplexers.RedisAsync(),
            "garnet" => await SharedMultiplexers.GarnetAsync(),
            _ => await SharedMultiplexers.ClusterAsync(),
        };
        await using var backend = new RedisSessionBackend(multiplexer);
        var key = $"session:flush-{Guid.NewGuid():N}";
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        Assert.That(await backend.SetAsync(key, new SessionRecord(Encoding.UTF8.GetBytes("1"), expires, 1), SetCondition.IfAbsent, CancellationToken.None), Is.True);
        Assert.That(await backend.SetAsync(key, new SessionRecord(Encoding.UTF8.GetBytes("2"), expires, 2), SetCondition.IfVersion(1), CancellationToken.None), Is.True, "before the flush (loads the script)");

        await FlushScriptsAsync(multiplexer);
        Assert.That(await backend.SetAsync(key, new SessionRecord(Encoding.UTF8.GetBytes("3"), expires, 3), SetCondition.IfVersion(2), CancellationToken.None), Is.True, "conditional set after the flush");

        await FlushScriptsAsync(multiplexer);
        Assert.That(await backend.TouchAsync(key, expires.AddMinutes(5), CancellationToken.None), Is.True, "touch after the flush");

        await FlushScriptsAsync(multiplexer);
        Assert.That(await backend.SetAsync(key, new SessionRecord(Encoding.UTF8.GetBytes("4"), expires, 4), SetCondition.IfVersion(2), CancellationToken.None), Is.False, "a stale version still fails after the flush");
        Assert.That(await backend.RemoveAsync(key, 3, CancellationToken.None), Is.True, "conditional delete after the flush");
        Assert.That(await backend.GetAsync(key, CancellationToken.None), Is.Null);
    }

    private static async Task FlushScriptsAsync(IConnectionMultiplexer multiplexer)
    {
        foreach (var node in multiplexer.GetServers().Where(s => !s.IsReplica))
        {
            await node.ScriptFlushAsync();
        }
    }
}
