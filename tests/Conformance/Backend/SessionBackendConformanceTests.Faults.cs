using NUnit.Framework;
using Sessions.Backends;
using Sessions.Engine;

namespace Sessions.Conformance;

// Faults of issue 14 at the backend's level: what the store answers but the backend cannot parse is a corrupt record,
// never an outage; and a session over the backend's stated record limit is refused before anything is written.
public abstract partial class SessionBackendConformanceTests
{
    /// <summary>
    /// Garbage under a key (planted by the fixture's <see cref="BackendConformanceFixture.WriteUnreadableRecordAsync"/>):
    /// <see cref="ISessionBackend.GetAsync"/> throws <see cref="SessionRecordCorruptException"/> or returns a record (whose
    /// payload the core then judges), never any other exception, which the core would report as an outage (503).
    /// </summary>
    [Test]
    public virtual async Task An_unreadable_record_is_reported_as_corrupt_never_as_an_outage()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await WriteUnreadableRecordAsync(key, Token);

        try
        {
            _ = await backend.GetAsync(key, Token);
        }
        catch (SessionRecordCorruptException)
        {
            // Reported as corrupt: the core starts a new session, logs event 1001 and counts it.
        }
        catch (Exception ex)
        {
            Assert.Fail($"GetAsync of an unreadable record threw {ex.GetType().Name}, which the core reports as an outage; throw SessionRecordCorruptException instead. {ex.Message}");
        }
    }

    /// <summary>
    /// A backend that states a record limit (<see cref="ISessionBackendLimits"/>): the engine refuses a session grown from
    /// half the limit to past it with <see cref="SessionPayloadTooLargeException"/> giving both sizes, before writing, so
    /// the stored session stays as it was (memcached, for one, would delete the item on a failed oversized write).
    /// </summary>
    [Test]
    public virtual async Task A_session_over_the_backend_record_limit_is_refused_before_writing_and_the_stored_one_stays()
    {
        var backend = await NewBackendAsync();
        if (backend is not ISessionBackendLimits { MaxPayloadBytes: var limit })
        {
            Assert.Ignore($"{backend.GetType().Name} states no record limit (ISessionBackendLimits); Sessions:MaxPayloadBytes alone bounds its sessions.");
            return;
        }

        Assert.That(limit, Is.GreaterThan(1024), "ISessionBackendLimits.MaxPayloadBytes must leave room for a session");
        const int LargestLimitToFill = 16 * 1024 * 1024;
        if (limit > LargestLimitToFill)
        {
            Assert.Ignore($"{backend.GetType().Name}'s record limit is {limit} bytes, beyond what a test should fill ({LargestLimitToFill} bytes); above it, Sessions:MaxPayloadBytes (1 MiB by default) is what bounds a session.");
            return;
        }

        var store = new SessionStore(backend, new SessionOptions { KeyPrefix = NewKeyPrefix(), MaxPayloadBytes = int.MaxValue / 2, OperationTimeout = TimeSpan.FromSeconds(30) }, "kit");
        var half = new byte[limit / 2];
        Random.Shared.NextBytes(half);
        var session = store.CreateNew();
        session.Set("a", half);
        await store.CommitAsync(session, Token);

        var loaded = await store.LoadAsync(session.Id, Token);
        Assert.That(loaded, Is.Not.Null, "setting up: the session of half the limit was stored");
        loaded!.Set("b", new byte[limit - half.Length + 1024]);
        var ex = Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await store.CommitAsync(loaded, Token));

        var reloaded = await store.LoadAsync(session.Id, Token);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.MaxPayloadBytes, Is.EqualTo(limit), "the limit in force is the backend's");
            Assert.That(ex.PayloadBytes, Is.GreaterThan(limit), "the refused size");
            Assert.That(ex.Message, Does.Contain(limit.ToString(System.Globalization.CultureInfo.InvariantCulture)).And.Contain(ex.PayloadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the message gives both sizes");
            Assert.That(reloaded, Is.Not.Null, "the stored session must survive the refused write");
            Assert.That(reloaded!.TryGetValue("a", out var a) ? a.Length : -1, Is.EqualTo(half.Length), "the stored session's data");
            Assert.That(reloaded.TryGetValue("b", out _), Is.False, "nothing of the refused write");
        }
    }
}
