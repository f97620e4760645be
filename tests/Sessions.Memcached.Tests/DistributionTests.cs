using NUnit.Framework;
using Sessions.Backends;
using Sessions.Memcached.Protocol;
using Sessions.Memcached.Tests.Support;

namespace Sessions.Memcached.Tests;

// Consistent hashing: keys spread evenly over the pool, adding a server moves only its share, and records land on the
// server the ring names.
[TestFixture]
public sealed class DistributionTests
{
    private const int KeyCount = 10_000;
    private static readonly string[] s_three = ["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"];
    private static readonly string[] s_sessionKeys = [.. Enumerable.Range(0, KeyCount).Select(i => Keys.SessionLike($"distribution {i}"))];

    [Test]
    public void Ten_thousand_keys_spread_over_three_servers_within_33_percent_plus_or_minus_8()
    {
        var ring = new HashRing(s_three);

        var shares = s_sessionKeys.GroupBy(ring.OwnerOf).ToDictionary(g => g.Key, g => g.Count() / (double)KeyCount);

        Assert.That(shares.Keys, Is.EquivalentTo(new[] { 0, 1, 2 }), "servers that got keys");
        Assert.That(shares.Values, Has.All.InRange(0.25, 0.41), $"shares: {string.Join(", ", shares.OrderBy(s => s.Key).Select(s => $"{s_three[s.Key]} {s.Value:P1}"))}");
    }

    [Test]
    public void Adding_a_fourth_server_moves_about_a_quarter_of_the_keys_and_only_to_it()
    {
        var before = new HashRing(s_three);
        var after = new HashRing([.. s_three, "10.0.0.4:11211"]);

        var moved = s_sessionKeys.Where(k => before.OwnerOf(k) != after.OwnerOf(k)).ToList();
        var fraction = moved.Count / (double)KeyCount;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fraction, Is.InRange(0.17, 0.33), $"fraction of keys moved ({moved.Count} of {KeyCount}); ideal 25%");
            Assert.That(moved.Select(after.OwnerOf).Distinct(), Is.EquivalentTo(new[] { 3 }), "servers the moved keys went to: only the new one");
        }
    }

    [Test]
    public void Server_order_in_the_list_does_not_change_where_keys_go()
    {
        var forward = new HashRing(s_three);
        var backward = new HashRing([.. s_three.Reverse()]);

        var disagreements = s_sessionKeys.Count(k => s_three[forward.OwnerOf(k)] != s_three.Reverse().ElementAt(backward.OwnerOf(k)));

        Assert.That(disagreements, Is.Zero, "keys placed on a different server when the list is reordered");
    }

    [Test]
    public async Task Records_are_stored_on_the_server_the_ring_names()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        await using var pool = new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = servers.Servers });
        var singles = servers.Addresses.Select(a => new MemcachedSessionBackend(new MemcachedSessionBackendOptions { Servers = a })).ToArray();
        try
        {
            var keys = Enumerable.Range(0, 600).Select(i => Keys.SessionLike($"placement {Guid.NewGuid()} {i}")).ToArray();
            foreach (var key in keys)
            {
                await pool.SetAsync(key, new SessionRecord(new byte[10], DateTimeOffset.UtcNow.AddMinutes(5), 1), SetCondition.Always, CancellationToken.None);
            }

            var wrong = new List<string>();
            var perServer = new int[3];
            foreach (var key in keys)
            {
                var holders = new List<string>();
                for (var s = 0; s < 3; s++)
                {
                    if (await singles[s].GetAsync(key, CancellationToken.None) is not null)
                    {
                        holders.Add(servers.Addresses[s]);
                        perServer[s]++;
                    }
                }

                if (holders.Count != 1 || holders[0] != pool.ServerFor(key))
                {
                    wrong.Add($"{key}: expected on {pool.ServerFor(key)}, found on [{string.Join(", ", holders)}]");
                }
            }

            using (Assert.EnterMultipleScope())
            {
                Assert.That(wrong, Is.Empty, "keys not stored exactly on their ring server");
                Assert.That(perServer, Has.All.GreaterThan(600 / 3 * 0.6), $"records per server: {string.Join(", ", perServer)}");
            }
        }
        finally
        {
            foreach (var single in singles)
            {
                await single.DisposeAsync();
            }
        }
    }
}
