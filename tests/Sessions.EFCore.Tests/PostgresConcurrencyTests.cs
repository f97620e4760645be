using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.EFCore.Tests.Support;

namespace Sessions.EFCore.Tests;

/// <summary>
/// Many connections racing on one key, through several backend instances (as several app servers would), each racer on its
/// own connection: exactly one winner per round for IfAbsent (also over an expired row) and IfVersion.
/// </summary>
[TestFixture]
public sealed class PostgresConcurrencyTests
{
    private const int Instances = 4;
    private const int RacersPerInstance = 12;
    private const int Rounds = 25;

    private readonly List<EFCoreSessionBackend> _backends = [];

    [OneTimeSetUp]
    public void CreateBackends()
    {
        for (var i = 0; i < Instances; i++)
        {
            // A distinct Application Name per instance gives each its own Npgsql pool, so racers really hold separate connections.
            var cs = new NpgsqlConnectionStringBuilder(Databases.Postgres) { ApplicationName = $"race-{i}" }.ConnectionString;
            _backends.Add(EFCoreSessionBackend.Create(db => db.UseNpgsql(cs)));
        }
    }

    [OneTimeTearDown]
    public async Task DisposeBackends()
    {
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }

    [Test]
    public async Task Exactly_one_of_many_connections_wins_if_absent_on_a_fresh_key()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var key = $"race:{Guid.NewGuid():N}";
            var winners = await Racers.WinnersAsync(Instances * RacersPerInstance, i => Backend(i).SetAsync(key, Record(i), SetCondition.IfAbsent, default));

            Assert.That(winners, Has.Count.EqualTo(1), $"round {round}: winners of IfAbsent");
            Assert.That((await _backends[0].GetAsync(key, default))?.Version, Is.EqualTo(winners[0]), $"round {round}: the stored record is the winner's");
        }
    }

    [Test]
    public async Task Exactly_one_of_many_connections_wins_if_absent_over_an_expired_row()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var key = $"race:{Guid.NewGuid():N}";
            await _backends[0].SetAsync(key, new SessionRecord(new byte[] { 9 }, DateTimeOffset.UtcNow.AddMinutes(-1), 1000), SetCondition.Always, default);

            var winners = await Racers.WinnersAsync(Instances * RacersPerInstance, i => Backend(i).SetAsync(key, Record(i), SetCondition.IfAbsent, default));

            Assert.That(winners, Has.Count.EqualTo(1), $"round {round}: winners of IfAbsent over an expired row");
            Assert.That((await _backends[0].GetAsync(key, default))?.Version, Is.EqualTo(winners[0]), $"round {round}: the stored record is the winner's");
        }
    }

    [Test]
    public async Task Exactly_one_of_many_connections_wins_if_version()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var key = $"race:{Guid.NewGuid():N}";
            await _backends[0].SetAsync(key, new SessionRecord(new byte[] { 9 }, DateTimeOffset.UtcNow.AddHours(1), 1000), SetCondition.Always, default);

            var winners = await Racers.WinnersAsync(Instances * RacersPerInstance, i => Backend(i).SetAsync(key, Record(i), SetCondition.IfVersion(1000), default));

            Assert.That(winners, Has.Count.EqualTo(1), $"round {round}: winners of IfVersion(1000)");
            Assert.That((await _backends[0].GetAsync(key, default))?.Version, Is.EqualTo(winners[0]), $"round {round}: the stored record is the winner's");
        }
    }

    private static SessionRecord Record(int racer) => new(BitConverter.GetBytes(racer), DateTimeOffset.UtcNow.AddHours(1), racer);

    private EFCoreSessionBackend Backend(int racer) => _backends[racer % Instances];
}
