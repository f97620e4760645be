using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.Core.Tests.Support;
using Sessions.Engine;
using Sessions.Memory;

namespace Sessions.Core.Tests.Engine;

/// <summary>A SessionStore over a real in-memory backend, with a manual clock and call counting.</summary>
public abstract class SessionStoreTestBase
{
    protected FakeTimeProvider Clock { get; private set; } = null!;

    protected MemorySessionBackend Memory { get; private set; } = null!;

    protected CountingBackend Backend { get; private set; } = null!;

    protected ListLogger<SessionStore> Logger { get; private set; } = null!;

    [SetUp]
    public void CreateBackend()
    {
        Clock = FakeTimeProviders.StartingNow();
        Memory = new MemorySessionBackend(timeProvider: Clock);
        Backend = new CountingBackend(Memory);
        Logger = new ListLogger<SessionStore>();
    }

    protected SessionStore CreateStore(Action<SessionOptions>? configure = null)
    {
        var options = new SessionOptions();
        configure?.Invoke(options);
        return new SessionStore(Backend, options, "memory", timeProvider: Clock, logger: Logger);
    }

    protected static async Task<string> CreateSessionAsync(SessionStore store, params (string Key, byte[] Value)[] entries)
    {
        var session = store.CreateNew();
        foreach (var (key, value) in entries)
        {
            session.Set(key, value);
        }

        var result = await store.CommitAsync(session, CancellationToken.None);
        Assert.That(result.Outcome, Is.EqualTo(SessionCommitOutcome.Created));
        return session.Id;
    }

    protected static async Task<SessionData> LoadRequiredAsync(SessionStore store, string id)
    {
        var session = await store.LoadAsync(id, CancellationToken.None);
        Assert.That(session, Is.Not.Null, "the session should exist");
        return session!;
    }

    protected static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    protected static string? Text(SessionData session, string key) =>
        session.TryGetValue(key, out var value) ? System.Text.Encoding.UTF8.GetString(value) : null;
}
