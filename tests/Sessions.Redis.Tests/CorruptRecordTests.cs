using NUnit.Framework;
using Sessions.Backends;
using Sessions.Redis.Tests.Support;
using StackExchange.Redis;

namespace Sessions.Redis.Tests;

/// <summary>What another application (or an operator's redis-cli) may leave under a session key is reported as a corrupt
/// record, never as an outage, on every server kind.</summary>
[TestFixture("redis")]
[TestFixture("garnet")]
[TestFixture("cluster")]
public sealed class CorruptRecordTests(string server)
{
    private ConnectionMultiplexer _multiplexer = null!;
    private RedisSessionBackend _backend = null!;

    [OneTimeSetUp]
    public async Task ConnectAsync()
    {
        _multiplexer = server switch
        {
            "redis" => await SharedMultiplexers.RedisAsync(),
            "garnet" => await SharedMultiplexers.GarnetAsync(),
            _ => await SharedMultiplexers.ClusterAsync(),
        };
        _backend = new RedisSessionBackend(_multiplexer);
    }

    [OneTimeTearDown]
    public ValueTask DisposeAsync() => _backend.DisposeAsync();

    [Test]
    public async Task Garbage_set_with_KEEPTTL_is_corrupt()
    {
        var key = NewKey();
        await _multiplexer.GetDatabase().ExecuteAsync("SET", key, "garbage", "KEEPTTL");

        var error = Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await _backend.GetAsync(key, CancellationToken.None));

        Assert.That(error!.Key, Is.EqualTo(key));
        Assert.That(error.StoredBytes, Is.EqualTo(7));
    }

    [Test]
    public async Task An_empty_string_is_corrupt()
    {
        var key = NewKey();
        await _multiplexer.GetDatabase().StringSetAsync(key, RedisValue.EmptyString);

        Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await _backend.GetAsync(key, CancellationToken.None));
    }

    [Test]
    public async Task A_long_string_of_another_format_is_corrupt()
    {
        var key = NewKey();
        await _multiplexer.GetDatabase().StringSetAsync(key, "{\"json\":\"from another app, longer than a header\"}");

        Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await _backend.GetAsync(key, CancellationToken.None));
    }

    [Test]
    public async Task A_key_of_another_type_is_corrupt_not_WRONGTYPE()
    {
        var key = NewKey();
        await _multiplexer.GetDatabase().HashSetAsync(key, "field", "value");

        var error = Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await _backend.GetAsync(key, CancellationToken.None));

        Assert.That(error!.InnerException, Is.InstanceOf<RedisServerException>());
        Assert.That(error.Message, Does.Contain("another type"));
    }

    [Test]
    public async Task A_session_write_replaces_garbage_that_was_planted()
    {
        var key = NewKey();
        await _multiplexer.GetDatabase().StringSetAsync(key, "garbage");
        var record = new SessionRecord(new byte[] { 1, 2, 3 }, DateTimeOffset.UtcNow.AddHours(1), 5);

        Assert.That(await _backend.SetAsync(key, record, SetCondition.Always, CancellationToken.None), Is.True);

        Assert.That((await _backend.GetAsync(key, CancellationToken.None))!.Version, Is.EqualTo(5));
    }

    private static string NewKey() => $"session:corrupt-{Guid.NewGuid():N}";
}
