using NUnit.Framework;
using Sessions.Backends;
using Sessions.Backends.Migration;
using Sessions.Core.Tests.Support;
using Sessions.Memory;

namespace Sessions.Core.Tests.Backends;

/// <summary>The migrating backend runs the start-up work of whichever of its two stores has some.</summary>
[TestFixture]
public sealed class MigratingBackendInitializerTests
{
    private static readonly SessionRecord Record = new(new byte[] { 1, 2, 3 }, DateTimeOffset.UtcNow.AddHours(1), 1);

    [Test]
    public async Task Initializing_the_migration_initializes_the_store_that_needs_it_and_leaves_the_other_alone()
    {
        var log = new List<string>();
        var from = new MemorySessionBackend();
        var to = new InitializingBackend(new MemorySessionBackend(), "to", log);
        await using var migration = new MigratingSessionBackend(from, to, "old", "new");

        Assert.That(migration, Is.InstanceOf<ISessionBackendInitializer>());
        await ((ISessionBackendInitializer)migration).InitializeAsync(CancellationToken.None);

        Assert.That(log, Is.EqualTo(new[] { "to" }));
        Assert.That(await migration.SetAsync("k", Record, SetCondition.IfAbsent, CancellationToken.None), Is.True, "the store serves after its start-up work");
        Assert.That(await to.GetAsync("k", CancellationToken.None), Is.Not.Null, "new records go to the new store");
    }

    [Test]
    public async Task Both_stores_are_initialized_the_old_one_first()
    {
        var log = new List<string>();
        await using var migration = new MigratingSessionBackend(
            new InitializingBackend(new MemorySessionBackend(), "from", log), new InitializingBackend(new MemorySessionBackend(), "to", log));

        await migration.InitializeAsync(CancellationToken.None);

        Assert.That(log, Is.EqualTo(new[] { "from", "to" }));
    }

    [Test]
    public async Task A_store_that_cannot_be_prepared_fails_the_initialization_with_its_own_error()
    {
        var log = new List<string>();
        await using var migration = new MigratingSessionBackend(
            new InitializingBackend(new MemorySessionBackend(), "from", log, fail: true), new InitializingBackend(new MemorySessionBackend(), "to", log));

        var error = Assert.ThrowsAsync<SessionStoreException>(async () => await migration.InitializeAsync(CancellationToken.None));

        Assert.That(error!.Message, Does.Contain("from cannot be prepared"));
        Assert.That(log, Is.EqualTo(new[] { "from" }), "start-up stops at the first store that fails");
    }

    [Test]
    public async Task Initializing_after_disposal_is_refused()
    {
        var migration = new MigratingSessionBackend(new MemorySessionBackend(), new InitializingBackend(new MemorySessionBackend(), "to", []));
        await migration.DisposeAsync();

        Assert.ThrowsAsync<ObjectDisposedException>(async () => await migration.InitializeAsync(CancellationToken.None));
    }

    /// <summary>A real in-memory store with start-up work: it records that the work ran (and can fail it, as a store that cannot be prepared).</summary>
    private sealed class InitializingBackend(MemorySessionBackend inner, string name, List<string> log, bool fail = false)
        : ForwardingBackend(inner), ISessionBackendInitializer
    {
        public ValueTask InitializeAsync(CancellationToken cancellationToken)
        {
            log.Add(name);
            return fail ? ValueTask.FromException(new SessionStoreException($"{name} cannot be prepared: the table is missing.")) : ValueTask.CompletedTask;
        }
    }
}
