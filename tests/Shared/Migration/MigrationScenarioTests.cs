using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Backends.Migration;

namespace Sessions.StoreMigration.Tests;

/// <summary>
/// The migrating backend between two real stores (linked into each backend's test project): sessions created in the old
/// store before the switch survive it, requests racing the move lose nothing, and a session destroyed in either store never
/// comes back. Subclasses start the stores and say how to reach them.
/// </summary>
public abstract class MigrationScenarioTests
{
    private readonly List<object> _owned = [];

    /// <summary>The old store's registered name (<c>memory</c>, <c>memcached</c>, <c>redis</c>).</summary>
    protected abstract string FromName { get; }

    /// <summary>The new store's registered name.</summary>
    protected abstract string ToName { get; }

    /// <summary>A new instance on the old store (its own connections); every instance sees the same records.</summary>
    protected abstract ValueTask<ISessionBackend> CreateFromAsync();

    /// <summary>A new instance on the new store.</summary>
    protected abstract ValueTask<ISessionBackend> CreateToAsync();

    /// <summary>Registers the old store on an app, under <see cref="FromName"/>, as the app would.</summary>
    protected abstract void AddFrom(ISessionsBuilder builder);

    /// <summary>Registers the new store on an app, under <see cref="ToName"/>.</summary>
    protected abstract void AddTo(ISessionsBuilder builder);

    [TearDown]
    public async Task DisposeOwnedAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            switch (owned)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }

        _owned.Clear();
    }

    [Test]
    public async Task A_session_written_before_the_switch_is_read_then_moved_on_its_next_save()
    {
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        var migrating = await MigratingAsync();
        var key = NewKey();
        Assert.That(await from.SetAsync(key, Record(1, 7), SetCondition.IfAbsent, default), Is.True);

        var read = await migrating.GetAsync(key, default);
        Assert.That(read, Is.Not.Null, "a session of the old store, read through the migrating backend");
        Assert.That(read!.Version, Is.EqualTo(7));
        Assert.That(read.Payload.ToArray(), Is.EqualTo(Record(1, 7).Payload.ToArray()));

        Assert.That(await migrating.SetAsync(key, Record(2, 8), SetCondition.IfVersion(7, read.ConcurrencyToken), default), Is.True, "its next save");
        Assert.That((await to.GetAsync(key, default))?.Version, Is.EqualTo(8), "now in the new store");
        Assert.That(await from.GetAsync(key, default), Is.Null, "and gone from the old one");
        Assert.That((await migrating.GetAsync(key, default))?.Payload.ToArray(), Is.EqualTo(Record(2, 8).Payload.ToArray()));
    }

    [Test]
    public async Task A_copy_left_in_the_old_store_by_a_cut_short_move_is_dropped_by_the_next_save()
    {
        // A move cut short (the new store frozen past the timeout, then applying the write) leaves the session in both
        // stores. Were the old copy kept, it would be read again once the new record is gone: a sign-in's "moved"
        // tombstone expiring would bring the pre-sign-in session back.
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        var migrating = await MigratingAsync();
        var key = NewKey();
        Assert.That(await from.SetAsync(key, Record(1, 7), SetCondition.IfAbsent, default), Is.True);
        Assert.That(await to.SetAsync(key, Record(2, 8), SetCondition.IfAbsent, default), Is.True);

        var read = await migrating.GetAsync(key, default);
        Assert.That(read?.Version, Is.EqualTo(8), "the new store's copy is the one read");
        Assert.That(await migrating.SetAsync(key, Record(3, 9), SetCondition.IfVersion(8, read!.ConcurrencyToken), default), Is.True);
        Assert.That(await from.GetAsync(key, default), Is.Null, "the stale copy in the old store is gone");

        Assert.That(await to.RemoveAsync(key, null, default), Is.True, "the new record ends (a tombstone expiring, say)");
        Assert.That(await migrating.GetAsync(key, default), Is.Null, "and nothing comes back from the old store");
    }

    [Test]
    public async Task New_sessions_go_only_to_the_new_store_and_create_only_sees_the_old_one()
    {
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        var migrating = await MigratingAsync();
        var fresh = NewKey();
        Assert.That(await migrating.SetAsync(fresh, Record(1, 1), SetCondition.IfAbsent, default), Is.True);
        Assert.That(await to.GetAsync(fresh, default), Is.Not.Null);
        Assert.That(await from.GetAsync(fresh, default), Is.Null, "a new session is never written to the old store");

        var old = NewKey();
        await from.SetAsync(old, Record(1, 3), SetCondition.Always, default);
        Assert.That(await migrating.SetAsync(old, Record(9, 1), SetCondition.IfAbsent, default), Is.False, "the key is live in the old store");
        Assert.That(await to.GetAsync(old, default), Is.Null);
    }

    [Test]
    public async Task Racing_saves_of_sessions_still_in_the_old_store_move_each_once_and_lose_no_update()
    {
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        const int Racers = 6;
        var instances = new List<MigratingSessionBackend>();
        for (var i = 0; i < Racers; i++)
        {
            instances.Add(await MigratingAsync());
        }

        for (var round = 0; round < 10; round++)
        {
            var key = NewKey();
            await from.SetAsync(key, Record(0, 5), SetCondition.Always, default);
            var reads = await Task.WhenAll(instances.Select(m => m.GetAsync(key, default).AsTask()));
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var writes = instances.Select((m, i) => Task.Run(async () =>
            {
                await start.Task;
                return await m.SetAsync(key, Record((byte)(i + 1), 6), SetCondition.IfVersion(5, reads[i]!.ConcurrencyToken), default);
            })).ToList();
            start.SetResult();
            var results = await Task.WhenAll(writes);

            Assert.That(results.Count(r => r), Is.EqualTo(1), $"round {round}: of {Racers} saves on version 5, exactly one wins");
            var winner = Array.IndexOf(results, true);
            Assert.That((await to.GetAsync(key, default))?.Payload.ToArray(), Is.EqualTo(Record((byte)(winner + 1), 6).Payload.ToArray()), "the winner's record, in the new store");
            Assert.That(await from.GetAsync(key, default), Is.Null, "the old copy is gone");
        }
    }

    [Test]
    public async Task A_session_destroyed_while_a_request_holds_the_old_copy_never_comes_back()
    {
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        var holder = await MigratingAsync();
        var other = await MigratingAsync();
        var key = NewKey();
        await from.SetAsync(key, Record(1, 5), SetCondition.Always, default);
        var held = await holder.GetAsync(key, default);

        Assert.That(await other.RemoveAsync(key, null, default), Is.True, "destroyed (still in the old store)");
        Assert.That(await holder.SetAsync(key, Record(2, 6), SetCondition.IfVersion(5, held!.ConcurrencyToken), default), Is.False, "the stale request's save");
        await AssertGoneAsync(key, from, to, holder);
    }

    [Test]
    public async Task A_session_moved_then_destroyed_in_the_new_store_never_comes_back_from_a_stale_request()
    {
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        var stale = await MigratingAsync();
        var mover = await MigratingAsync();
        var key = NewKey();
        await from.SetAsync(key, Record(1, 5), SetCondition.Always, default);
        var staleRead = await stale.GetAsync(key, default);
        var moverRead = await mover.GetAsync(key, default);
        Assert.That(await mover.SetAsync(key, Record(2, 6), SetCondition.IfVersion(5, moverRead!.ConcurrencyToken), default), Is.True, "moved");
        Assert.That(await mover.RemoveAsync(key, null, default), Is.True, "then destroyed, in the new store");

        Assert.That(await stale.SetAsync(key, Record(3, 6), SetCondition.IfVersion(5, staleRead!.ConcurrencyToken), default), Is.False, "the stale request's save");
        Assert.That(await stale.SetAsync(key, Record(3, 6), SetCondition.IfVersion(5), default), Is.False, "nor without a token");
        await AssertGoneAsync(key, from, to, stale);
    }

    [Test]
    public async Task A_destroy_racing_moves_always_wins()
    {
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        var movers = new List<MigratingSessionBackend>();
        for (var i = 0; i < 3; i++)
        {
            movers.Add(await MigratingAsync());
        }

        var destroyer = await MigratingAsync();
        for (var round = 0; round < 25; round++)
        {
            var key = NewKey();
            await from.SetAsync(key, Record(0, 5), SetCondition.Always, default);
            var reads = await Task.WhenAll(movers.Select(m => m.GetAsync(key, default).AsTask()));
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var tasks = movers.Select((m, i) => Task.Run(async () =>
            {
                await start.Task;
                await m.SetAsync(key, Record((byte)(i + 1), 6), SetCondition.IfVersion(5, reads[i]!.ConcurrencyToken), default);
            })).Append(Task.Run(async () =>
            {
                await start.Task;
                await destroyer.RemoveAsync(key, null, default);
            })).ToList();
            start.SetResult();
            await Task.WhenAll(tasks);
            await AssertGoneAsync(key, from, to, destroyer, $"round {round}");
        }
    }

    [Test]
    public async Task A_conditional_delete_and_a_touch_reach_a_session_still_in_the_old_store()
    {
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        var migrating = await MigratingAsync();
        var key = NewKey();
        await from.SetAsync(key, Record(1, 4), SetCondition.Always, default);
        var later = DateTimeOffset.UtcNow.AddHours(3);
        Assert.That(await migrating.TouchAsync(key, later, default), Is.True, "touched in the old store");
        Assert.That((await from.GetAsync(key, default))!.ExpiresAt, Is.EqualTo(later).Within(TimeSpan.FromSeconds(1)));
        Assert.That(await migrating.RemoveAsync(key, 3, default), Is.False, "another version");
        Assert.That(await migrating.RemoveAsync(key, 4, default), Is.True);
        await AssertGoneAsync(key, from, to, migrating);
    }

    [Test]
    public async Task A_bulk_move_keeps_a_racing_request_s_update_and_never_overwrites_a_newer_record()
    {
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        var request = await MigratingAsync();
        var copier = await MigratingAsync();
        var key = NewKey();
        await from.SetAsync(key, Record(1, 5), SetCondition.Always, default);
        var read = await request.GetAsync(key, default);

        Assert.That(await copier.MoveAsync(key, default), Is.EqualTo(SessionMoveResult.Moved));
        Assert.That(await copier.MoveAsync(key, default), Is.EqualTo(SessionMoveResult.NotInSource), "idempotent");
        Assert.That((await to.GetAsync(key, default))?.Version, Is.EqualTo(5), "moved unchanged");
        Assert.That(await request.SetAsync(key, Record(2, 6), SetCondition.IfVersion(5, read!.ConcurrencyToken), default), Is.True, "the request that read the old copy still saves");
        Assert.That(await request.SetAsync(key, Record(3, 6), SetCondition.IfVersion(5, read.ConcurrencyToken), default), Is.False, "but only once");

        // A stale copy left in the old store (say, written there by an instance not yet switched) never overwrites the new one.
        await from.SetAsync(key, Record(9, 5), SetCondition.Always, default);
        Assert.That(await copier.MoveAsync(key, default), Is.EqualTo(SessionMoveResult.AlreadyInTarget));
        Assert.That((await to.GetAsync(key, default))?.Payload.ToArray(), Is.EqualTo(Record(2, 6).Payload.ToArray()));
        Assert.That(await from.GetAsync(key, default), Is.Null, "the stale copy is removed");
    }

    [Test]
    public async Task States_the_smaller_record_limit_and_probes_both_stores()
    {
        var from = await OwnAsync(CreateFromAsync());
        var to = await OwnAsync(CreateToAsync());
        var migrating = await MigratingAsync();
        static int Limit(ISessionBackend b) => (b as ISessionBackendLimits)?.MaxPayloadBytes ?? int.MaxValue;
        Assert.That(migrating.MaxPayloadBytes, Is.EqualTo(Math.Min(Limit(from), Limit(to))));
        Assert.DoesNotThrowAsync(async () => await migrating.ProbeAsync(default));
    }

    [Test]
    public async Task Sessions_created_before_the_switch_survive_it_and_end_up_only_in_the_new_store()
    {
        var cookies = new List<string>();
        await using (var before = await StartAppAsync(s => AddFrom(s)))
        {
            for (var i = 0; i < 20; i++)
            {
                var cookie = await SendAsync(before, $"/set?k=n&v={i}", null);
                cookies.Add(cookie.Cookie!);
            }
        }

        await using (var during = await StartAppAsync(s => { AddFrom(s); AddTo(s); s.AddMigratingBackend(FromName, ToName); }))
        {
            for (var i = 0; i < cookies.Count; i++)
            {
                Assert.That((await SendAsync(during, "/get?k=n", cookies[i])).Body, Is.EqualTo($"{i}"), "read through the migrating backend");
                await SendAsync(during, "/set?k=m&v=moved", cookies[i]);
            }
        }

        await using (var after = await StartAppAsync(s => AddTo(s)))
        {
            for (var i = 0; i < cookies.Count; i++)
            {
                Assert.That((await SendAsync(after, "/get?k=n", cookies[i])).Body, Is.EqualTo($"{i}"), "the new store alone has the session");
                Assert.That((await SendAsync(after, "/get?k=m", cookies[i])).Body, Is.EqualTo("moved"));
            }
        }

        await using var oldOnly = await StartAppAsync(s => AddFrom(s));
        foreach (var cookie in cookies)
        {
            Assert.That((await SendAsync(oldOnly, "/get?k=n", cookie)).Body, Is.Empty, "the old store no longer has it");
        }
    }

    [Test]
    public async Task Racing_requests_during_the_move_lose_nothing()
    {
        var cookies = new List<string>();
        await using (var before = await StartAppAsync(s => AddFrom(s)))
        {
            for (var i = 0; i < 5; i++)
            {
                cookies.Add((await SendAsync(before, "/set?k=base&v=1", null)).Cookie!);
            }
        }

        const int Racers = 8;
        await using (var during = await StartAppAsync(s => { AddFrom(s); AddTo(s); s.AddMigratingBackend(FromName, ToName); }))
        {
            // Two app instances on the same stores, as behind a load balancer.
            await using var second = await StartAppAsync(s => { AddFrom(s); AddTo(s); s.AddMigratingBackend(FromName, ToName); });
            var requests = cookies.SelectMany(cookie => Enumerable.Range(0, Racers).Select(r =>
                SendAsync(r % 2 == 0 ? during : second, $"/set?k=r{r}&v={r}", cookie))).ToList();
            var replies = await Task.WhenAll(requests);
            Assert.That(replies.Select(r => r.Status), Is.All.EqualTo(HttpStatusCode.OK),
                $"no request failed during the move; the failures said: {string.Join(" | ", replies.Where(r => r.Status != HttpStatusCode.OK).Select(r => r.Body).Distinct())}");
        }

        await using var after = await StartAppAsync(s => AddTo(s));
        foreach (var cookie in cookies)
        {
            Assert.That((await SendAsync(after, "/get?k=base", cookie)).Body, Is.EqualTo("1"));
            for (var r = 0; r < Racers; r++)
            {
                Assert.That((await SendAsync(after, $"/get?k=r{r}", cookie)).Body, Is.EqualTo($"{r}"), $"racing request {r}'s change");
            }
        }
    }

    [Test]
    public async Task A_user_revoked_during_the_move_is_signed_out_of_sessions_in_both_stores()
    {
        var user = $"u{Guid.NewGuid():N}";
        var cookies = new List<string>();
        await using (var before = await StartAppAsync(s => AddFrom(s)))
        {
            cookies.Add((await SendAsync(before, $"/login?u={user}", null)).Cookie!);
            cookies.Add((await SendAsync(before, $"/login?u={user}", null)).Cookie!);
        }

        await using var during = await StartAppAsync(s => { AddFrom(s); AddTo(s); s.AddMigratingBackend(FromName, ToName); });
        cookies.Add((await SendAsync(during, $"/login?u={user}", null)).Cookie!);
        await SendAsync(during, "/set?k=x&v=1", cookies[0]); // the first moves to the new store
        var manager = during.Services.GetRequiredService<ISessionManager>();
        Assert.That((await manager.ListUserSessionsAsync(user)).Count, Is.EqualTo(3), "listed from both stores");
        Assert.That(await manager.RevokeUserSessionsAsync(user), Is.EqualTo(3));
        foreach (var cookie in cookies)
        {
            Assert.That((await SendAsync(during, "/user", cookie)).Body, Is.Empty, "revoked");
        }

        await using var oldOnly = await StartAppAsync(s => AddFrom(s));
        foreach (var cookie in cookies)
        {
            Assert.That((await SendAsync(oldOnly, "/user", cookie)).Body, Is.Empty, "not left behind in the old store");
        }
    }

    /// <summary>A migrating backend on new instances of both stores, disposed after the test.</summary>
    protected async Task<MigratingSessionBackend> MigratingAsync() =>
        await OwnAsync(Task.FromResult(new MigratingSessionBackend(await CreateFromAsync(), await CreateToAsync(), FromName, ToName)));

    private async Task<T> OwnAsync<T>(Task<T> creating)
    {
        var created = await creating;
        _owned.Add(created!);
        return created;
    }

    private Task<ISessionBackend> OwnAsync(ValueTask<ISessionBackend> creating) => OwnAsync(creating.AsTask());

    private static string NewKey() => $"session:mig{Guid.NewGuid():N}";

    private static SessionRecord Record(byte fill, long version) =>
        new(Enumerable.Repeat(fill, 40).ToArray(), DateTimeOffset.UtcNow.AddHours(1), version);

    private static async Task AssertGoneAsync(string key, ISessionBackend from, ISessionBackend to, ISessionBackend migrating, string? round = null)
    {
        Assert.That(await migrating.GetAsync(key, default), Is.Null, $"{round} destroyed stays destroyed");
        Assert.That(await to.GetAsync(key, default), Is.Null, $"{round} nothing in the new store");
        Assert.That(await from.GetAsync(key, default), Is.Null, $"{round} nothing in the old store");
    }

    private static async Task<WebApplication> StartAppAsync(Action<ISessionsBuilder> addBackends)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        addBackends(builder.Services.AddSessions(o => o.IdleTimeout = TimeSpan.FromHours(1)));
        var app = builder.Build();
        app.UseSessions();
        app.MapGet("/set", (HttpContext ctx, string k, string v) =>
        {
            ctx.Session.SetString(k, v);
            return "ok";
        });
        app.MapGet("/get", (HttpContext ctx, string k) => ctx.Session.GetString(k) ?? string.Empty);
        app.MapGet("/login", (HttpContext ctx, string u) =>
        {
            var session = ctx.GetServerSession();
            session.UserId = u;
            session.Regenerate();
            return "ok";
        });
        app.MapGet("/user", (HttpContext ctx) => ctx.GetServerSession().UserId ?? string.Empty);
        await app.StartAsync();
        return app;
    }

    private static async Task<(HttpStatusCode Status, string Body, string? Cookie)> SendAsync(WebApplication app, string path, string? cookie)
    {
        using var client = app.GetTestClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var setCookie = response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Select(v => v.Split(';')[0]).FirstOrDefault(v => v.StartsWith("session=", StringComparison.Ordinal))
            : null;
        return (response.StatusCode, body, setCookie ?? cookie);
    }
}

/// <summary>Shares one backend instance between apps and tests without disposing it (for the in-process memory store).</summary>
internal sealed class SharedBackend(ISessionBackend inner) : ISessionBackend, ISessionKeyEnumerator
{
    public ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

    public ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken) =>
        inner.SetAsync(key, record, condition, cancellationToken);

    public ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken) =>
        inner.RemoveAsync(key, expectedVersion, cancellationToken);

    public ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        inner.TouchAsync(key, expiresAt, cancellationToken);

    public IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, CancellationToken cancellationToken) =>
        ((ISessionKeyEnumerator)inner).EnumerateKeysAsync(prefix, cancellationToken);
}
