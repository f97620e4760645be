using NUnit.Framework;
using Sessions.Backends;
using Sessions.DynamoDb.Tests.Support;

namespace Sessions.DynamoDb.Tests;

/// <summary>
/// Conditional writes under real contention against dynalite, from 32 backend instances that each own an SDK client (as 32
/// app servers would): of the racers in a round exactly one wins, and the next round builds on the winner's version.
/// </summary>
[TestFixture]
public sealed class ConcurrencyTests
{
    private const int Racers = 32;
    private const int Rounds = 15;
    private readonly Conformance.DynamoDbFixtureTable _table = new("race");
    private List<DynamoDbSessionBackend> _servers = [];

    [OneTimeSetUp]
    public async Task StartServersAsync()
    {
        await _table.CreateAsync();
        var url = await Dynalite.ServiceUrlAsync();
        _servers = [.. Enumerable.Range(0, Racers).Select(_ => new DynamoDbSessionBackend(new DynamoDbSessionBackendOptions { ServiceUrl = url, Table = _table.Name }))];
        await Task.WhenAll(_servers.Select(s => s.EnsureTableAsync(CancellationToken.None)));
    }

    [OneTimeTearDown]
    public async Task StopServersAsync()
    {
        _servers.ForEach(s => s.Dispose());
        await _table.DeleteAsync();
    }

    [Test]
    public async Task A_chain_of_IfVersion_rounds_has_exactly_one_winner_per_round_and_loses_no_update()
    {
        var key = $"chain:{Guid.NewGuid():N}";
        Assert.That(await _servers[0].SetAsync(key, Record(0, -1), SetCondition.IfAbsent, CancellationToken.None), Is.True, "creating the record");
        var winners = new List<int>();

        for (var round = 0; round < Rounds; round++)
        {
            var version = round;
            var results = await RaceAsync(i => _servers[i].SetAsync(key, Record(version + 1, i), SetCondition.IfVersion(version), CancellationToken.None));

            var won = results.Select((w, i) => (w, i)).Where(r => r.w).Select(r => r.i).ToList();
            Assert.That(won, Has.Count.EqualTo(1), $"round {round}: winners of IfVersion({version})");
            winners.Add(won[0]);
            var stored = await _servers[(round + 1) % Racers].GetAsync(key, CancellationToken.None);
            Assert.That((stored?.Version, stored?.Payload.Span[0]), Is.EqualTo(((long?)version + 1, (byte?)won[0])), $"round {round}: the stored record is the winner's");
        }

        TestContext.Out.WriteLine($"winners by round: {string.Join(", ", winners)}");
    }

    [Test]
    public async Task IfAbsent_racers_on_fresh_and_on_expired_keys_have_exactly_one_winner()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var key = $"absent:{Guid.NewGuid():N}";
            if (round % 2 == 1)
            {
                // An expired item still in the table (DynamoDB's TTL is lazy) must count as absent, for exactly one racer.
                await _servers[0].SetAsync(key, new SessionRecord(new byte[] { 0 }, DateTimeOffset.UtcNow.AddMinutes(-1), 99), SetCondition.Always, CancellationToken.None);
            }

            var results = await RaceAsync(i => _servers[i].SetAsync(key, Record(1, i), SetCondition.IfAbsent, CancellationToken.None));

            Assert.That(results.Count(w => w), Is.EqualTo(1), $"round {round} ({(round % 2 == 1 ? "over an expired item" : "fresh key")}): winners of IfAbsent");
        }
    }

    [Test]
    public async Task Touches_racing_a_conditional_write_never_change_the_version_or_payload()
    {
        var key = $"touch:{Guid.NewGuid():N}";
        await _servers[0].SetAsync(key, Record(1, 0), SetCondition.Always, CancellationToken.None);

        var results = await RaceAsync(i => i == 0
            ? _servers[i].SetAsync(key, Record(2, 42), SetCondition.IfVersion(1), CancellationToken.None)
            : _servers[i].TouchAsync(key, DateTimeOffset.UtcNow.AddHours(2), CancellationToken.None));

        Assert.That(results, Has.All.True, "the write and every touch succeed");
        var stored = await _servers[1].GetAsync(key, CancellationToken.None);
        Assert.That((stored?.Version, stored?.Payload.Span[0]), Is.EqualTo(((long?)2, (byte?)42)), "the written record, whatever the touches did");
    }

    private static SessionRecord Record(long version, int racer) => new(new[] { (byte)racer }, DateTimeOffset.UtcNow.AddHours(1), version);

    private static async Task<bool[]> RaceAsync(Func<int, ValueTask<bool>> operation)
    {
        using var ready = new CountdownEvent(Racers);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, Racers).Select(i => Task.Run(async () =>
        {
            ready.Signal();
            await go.Task;
            return await operation(i);
        })).ToArray();
        await Task.Run(() => ready.Wait(TimeSpan.FromSeconds(30)));
        go.SetResult();
        return await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
    }
}
