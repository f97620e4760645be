using NUnit.Framework;
using Sessions.Backends;
using Sessions.Firestore.Tests.Support;

namespace Sessions.Firestore.Tests;

/// <summary>
/// Conditional writes under real contention on the emulator, from 32 backend instances that each own a gRPC channel (as 32
/// app servers would): of the racers in a round exactly one wins, whether or not they pass the engine's concurrency token.
/// </summary>
[TestFixture]
public sealed class ConcurrencyTests
{
    private const int Racers = 32;
    private const int Rounds = 10;
    private readonly string _projectId = FirestoreEmulator.NewProjectId("race");
    private List<FirestoreSessionBackend> _servers = [];

    [OneTimeSetUp]
    public async Task StartServersAsync()
    {
        var options = await FirestoreEmulator.OptionsAsync(_projectId);
        _servers = [.. Enumerable.Range(0, Racers).Select(_ => new FirestoreSessionBackend(options))];
    }

    [OneTimeTearDown]
    public void StopServers() => _servers.ForEach(s => s.Dispose());

    [TestCase(false, TestName = "IfVersion_racers_without_a_token_have_exactly_one_winner_per_round")]
    [TestCase(true, TestName = "IfVersion_racers_with_the_token_they_read_have_exactly_one_winner_per_round")]
    public async Task IfVersion_racers_have_exactly_one_winner_per_round(bool withToken)
    {
        var key = $"chain:{Guid.NewGuid():N}";
        Assert.That(await _servers[0].SetAsync(key, Record(0, 255), SetCondition.IfAbsent, CancellationToken.None), Is.True, "creating the record");

        for (var round = 0; round < Rounds; round++)
        {
            var version = round;
            // Every racer reads first, as the engine does, and passes on the token of what it read.
            var read = await Task.WhenAll(_servers.Select(s => s.GetAsync(key, CancellationToken.None).AsTask()));
            Assert.That(read.Select(r => r?.Version), Has.All.EqualTo(version), $"round {round}: what the racers read");

            var results = await RaceAsync(i => _servers[i].SetAsync(
                key, Record(version + 1, i), withToken ? SetCondition.IfVersion(version, read[i]!.ConcurrencyToken) : SetCondition.IfVersion(version), CancellationToken.None));

            var won = results.Select((w, i) => (w, i)).Where(r => r.w).Select(r => r.i).ToList();
            Assert.That(won, Has.Count.EqualTo(1), $"round {round}: winners of IfVersion({version})");
            var stored = await _servers[(round + 1) % Racers].GetAsync(key, CancellationToken.None);
            Assert.That((stored?.Version, stored?.Payload.Span[0]), Is.EqualTo(((long?)version + 1, (byte?)won[0])), $"round {round}: the stored record is the winner's");
        }
    }

    [Test]
    public async Task IfAbsent_racers_on_fresh_and_on_expired_documents_have_exactly_one_winner()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var key = $"absent:{Guid.NewGuid():N}";
            var overExpired = round % 2 == 1;
            if (overExpired)
            {
                // An expired document still stored (TTL deletion is late, the emulator has none) counts as absent, for exactly one racer.
                await _servers[0].SetAsync(key, new SessionRecord(new byte[] { 0 }, DateTimeOffset.UtcNow.AddMinutes(-1), 99), SetCondition.Always, CancellationToken.None);
            }

            var results = await RaceAsync(i => _servers[i].SetAsync(key, Record(1, i), SetCondition.IfAbsent, CancellationToken.None));

            var won = results.Select((w, i) => (w, i)).Where(r => r.w).Select(r => r.i).ToList();
            Assert.That(won, Has.Count.EqualTo(1), $"round {round} ({(overExpired ? "over an expired document" : "fresh key")}): winners of IfAbsent");
            var stored = await _servers[1].GetAsync(key, CancellationToken.None);
            Assert.That(stored?.Payload.Span[0], Is.EqualTo((byte)won[0]), $"round {round}: the stored record is the winner's");
        }
    }

    [Test]
    public async Task A_conditional_delete_racing_a_conditional_write_lets_exactly_one_of_them_win()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var key = $"delete:{Guid.NewGuid():N}";
            await _servers[0].SetAsync(key, Record(1, 0), SetCondition.Always, CancellationToken.None);
            var token = (await _servers[0].GetAsync(key, CancellationToken.None))!.ConcurrencyToken;

            // Half the racers delete version 1, half write version 2 over it: exactly one operation can win.
            var results = await RaceAsync(i => i % 2 == 0
                ? _servers[i].RemoveAsync(key, 1, CancellationToken.None)
                : _servers[i].SetAsync(key, Record(2, i), SetCondition.IfVersion(1, i % 4 == 1 ? token : null), CancellationToken.None));

            var won = results.Select((w, i) => (w, i)).Where(r => r.w).Select(r => r.i).ToList();
            Assert.That(won, Has.Count.EqualTo(1), $"round {round}: winners among conditional deletes and writes of version 1");
            var stored = await _servers[1].GetAsync(key, CancellationToken.None);
            if (won[0] % 2 == 0)
            {
                Assert.That(stored, Is.Null, $"round {round}: a delete won, so the record is gone");
            }
            else
            {
                Assert.That((stored?.Version, stored?.Payload.Span[0]), Is.EqualTo(((long?)2, (byte?)won[0])), $"round {round}: a write won, so its record is stored");
            }
        }
    }

    [Test]
    public async Task Touches_racing_a_conditional_write_all_succeed_and_never_change_the_version_or_payload()
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

    [Test]
    public async Task A_stale_token_fails_the_write_when_the_record_moved_on()
    {
        var key = $"stale:{Guid.NewGuid():N}";
        await _servers[0].SetAsync(key, Record(1, 1), SetCondition.Always, CancellationToken.None);
        var stale = (await _servers[0].GetAsync(key, CancellationToken.None))!.ConcurrencyToken;
        Assert.That(await _servers[1].SetAsync(key, Record(2, 7), SetCondition.IfVersion(1), CancellationToken.None), Is.True, "another server writes version 2");

        var written = await _servers[2].SetAsync(key, Record(2, 2), SetCondition.IfVersion(1, stale), CancellationToken.None);

        Assert.That(written, Is.False, "IfVersion(1) with the token read at version 1, after version 2 was written");
        var stored = await _servers[3].GetAsync(key, CancellationToken.None);
        Assert.That((stored?.Version, stored?.Payload.Span[0]), Is.EqualTo(((long?)2, (byte?)7)), "the other server's record is intact");
    }

    [Test]
    public async Task A_token_for_another_version_or_an_expired_record_fails_without_writing()
    {
        var key = $"token:{Guid.NewGuid():N}";
        await _servers[0].SetAsync(key, Record(3, 1), SetCondition.Always, CancellationToken.None);
        var token = (await _servers[0].GetAsync(key, CancellationToken.None))!.ConcurrencyToken;

        Assert.That(await _servers[0].SetAsync(key, Record(5, 2), SetCondition.IfVersion(4, token), CancellationToken.None), Is.False, "IfVersion(4) with the token of version 3");

        var expiredKey = $"expired:{Guid.NewGuid():N}";
        await _servers[0].SetAsync(expiredKey, new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddMilliseconds(400), 1), SetCondition.Always, CancellationToken.None);
        var expiring = (await _servers[0].GetAsync(expiredKey, CancellationToken.None))!.ConcurrencyToken;
        await Task.Delay(TimeSpan.FromMilliseconds(600));
        Assert.That(await _servers[0].SetAsync(expiredKey, Record(2, 2), SetCondition.IfVersion(1, expiring), CancellationToken.None), Is.False, "IfVersion(1) of an expired record, with its token");
        Assert.That((await _servers[0].GetAsync(key, CancellationToken.None))?.Version, Is.EqualTo(3), "the record the refused write aimed at");
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
        return await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(120));
    }
}
