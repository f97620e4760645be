using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Polly.CircuitBreaker;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Core.Tests.Support;
using Sessions.Engine;

namespace Sessions.Core.Tests.Engine;

/// <summary>
/// The engine's guard with one circuit breaker per partition (issue 21, fault 5), on the manual clock: a failing partition
/// opens only its own breaker, the others keep running their calls, each outage is logged with its partition's name, and
/// backends without partitions (or keys without one) keep the one whole-store breaker.
/// </summary>
public sealed class BackendGuardPartitionTests
{
    private FakeTimeProvider _clock = null!;
    private ListLogger<BackendGuard> _log = null!;

    [SetUp]
    public void SetUp()
    {
        _clock = FakeTimeProviders.StartingNow();
        _log = new ListLogger<BackendGuard>();
    }

    [Test]
    public void Without_partitions_every_key_shares_the_whole_store_breaker()
    {
        var guard = new BackendGuard(Options(), "memory", _log, _clock);

        Assert.That(guard.For("session:a"), Is.SameAs(guard.WholeStore));
        Assert.That(guard.For("session:b"), Is.SameAs(guard.WholeStore));
        Assert.That(guard.WholeStore.Description, Is.EqualTo("whole store"));
    }

    [Test]
    public async Task A_failing_partition_opens_only_its_own_breaker_and_is_used_again_after_a_successful_probe()
    {
        var guard = new BackendGuard(Options(), "redis", _log, _clock, new ByPrefix());
        var dead = guard.For("a:1");
        var healthy = guard.For("b:1");
        Assert.That(dead, Is.Not.SameAs(healthy));
        Assert.That(guard.For("a:2"), Is.SameAs(dead), "keys of one partition share its breaker");

        for (var i = 0; i < 4; i++)
        {
            await FailAsync(dead);
        }

        Assert.ThrowsAsync<BrokenCircuitException>(async () => await dead.ExecuteAsync(static (_, _) => ValueTask.FromResult(1), 0, CancellationToken.None), "the failing partition's breaker is open");
        Assert.That(await healthy.ExecuteAsync(static (_, _) => ValueTask.FromResult(7), 0, CancellationToken.None), Is.EqualTo(7), "the healthy partition still runs its calls");
        healthy.Succeeded();
        Assert.That(guard.IsDown, Is.True, "the store is down somewhere");
        Assert.That(dead.IsDown, Is.True);
        Assert.That(healthy.IsDown, Is.False);
        Assert.That(_log.Entries.Where(e => e.EventId.Id == 1040).Select(e => e.Message), Has.Exactly(1).Contains("(partition a)"), "the outage is logged once, naming its partition");

        _clock.Advance(TimeSpan.FromMilliseconds(600));
        Assert.That(await dead.ExecuteAsync(static (_, _) => ValueTask.FromResult(1), 0, CancellationToken.None), Is.EqualTo(1), "the probe after the break goes through");
        dead.Succeeded();

        Assert.That(guard.IsDown, Is.False);
        Assert.That(_log.Entries.Where(e => e.EventId.Id == 1042).Select(e => e.Message), Has.Exactly(1).Contains("(partition a) answers again"));
    }

    [Test]
    public async Task Keys_the_backend_cannot_place_and_a_throwing_lookup_use_the_whole_store_breaker()
    {
        var guard = new BackendGuard(Options(), "redis", _log, _clock, new ByPrefix());

        Assert.That(guard.For("nopartition"), Is.SameAs(guard.WholeStore), "null: the whole store");
        Assert.That(guard.For("throw:x"), Is.SameAs(guard.WholeStore), "a lookup that throws: the whole store");
        for (var i = 0; i < 4; i++)
        {
            await FailAsync(guard.WholeStore);
        }

        Assert.That(await guard.For("a:1").ExecuteAsync(static (_, _) => ValueTask.FromResult(1), 0, CancellationToken.None), Is.EqualTo(1), "a partition's own breaker is not the whole store's");
    }

    [Test]
    public async Task A_partition_without_calls_for_a_minute_is_forgotten_and_no_longer_counts_as_down()
    {
        var guard = new BackendGuard(Options(), "redis", _log, _clock, new ByPrefix());
        var dead = guard.For("a:1");
        await FailAsync(dead);
        Assert.That(guard.IsDown, Is.True);

        _clock.Advance(BackendGuard.PartitionIdleLifetime + TimeSpan.FromSeconds(1));
        var other = guard.For("b:1");

        Assert.That(guard.IsDown, Is.False, "a failover moved the dead partition's keys elsewhere: it no longer counts");
        Assert.That(guard.PartitionCount, Is.EqualTo(1), "only b is left");
        Assert.That(_log.Entries.Select(e => e.EventId.Id), Does.Contain(1050));
        Assert.That(guard.For("a:1"), Is.Not.SameAs(dead), "a partition seen again gets a new, closed breaker");
        Assert.That(other.IsDown, Is.False);
    }

    [Test]
    public void Partitions_beyond_the_limit_share_the_whole_store_breaker_and_it_is_logged_once()
    {
        var guard = new BackendGuard(Options(), "redis", _log, _clock, new ByPrefix());
        for (var i = 0; i < BackendGuard.MaxPartitions; i++)
        {
            Assert.That(guard.For($"p{i}:x"), Is.Not.SameAs(guard.WholeStore));
        }

        Assert.That(guard.For("over:1"), Is.SameAs(guard.WholeStore));
        Assert.That(guard.For("over2:1"), Is.SameAs(guard.WholeStore));
        Assert.That(guard.PartitionCount, Is.EqualTo(BackendGuard.MaxPartitions));
        Assert.That(_log.Entries.Count(e => e.EventId.Id == 1051), Is.EqualTo(1));
    }

    private static SessionOptions Options() => new()
    {
        OperationTimeout = TimeSpan.FromSeconds(1),
        CircuitBreaker = { MinimumThroughput = 4, SamplingDuration = TimeSpan.FromSeconds(30), BreakDuration = TimeSpan.FromMilliseconds(500) },
    };

    private static async Task FailAsync(BackendGuard.Partition partition)
    {
        try
        {
            await partition.ExecuteAsync<int, int>(static (_, _) => throw new IOException("partition down"), 0, CancellationToken.None);
            Assert.Fail("the call should have failed");
        }
        catch (IOException e)
        {
            partition.Failed("get", e);
        }
    }

    /// <summary>The partition is the text before the first ':'; none without one; a lookup that throws for "throw:".</summary>
    private sealed class ByPrefix : ISessionBackendPartitions
    {
        public string? GetPartition(string key)
        {
            var colon = key.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                return null;
            }

            var name = key[..colon];
            return name == "throw" ? throw new InvalidOperationException("broken lookup") : name;
        }
    }
}
