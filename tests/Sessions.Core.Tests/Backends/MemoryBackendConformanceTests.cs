using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Memory;

namespace Sessions.Core.Tests.Backends;

// The in-memory backend against the conformance kit. Each fixture hands out one shared instance: the backend is not
// disposable, and the kit's multi-instance tests need every instance to see the same store.
// [TestFixture] matters: NUnit runs only assemblies that reference nunit.framework, and a bare subclass does not.

[TestFixture]
public sealed class MemorySessionBackendConformanceTests : SessionBackendConformanceTests
{
    private readonly MemorySessionBackend _backend = new();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_backend);

    // A store of its own per clock: an in-process store cannot be shared by instances on different clocks.
    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => new(new MemorySessionBackend(timeProvider: timeProvider));
}

[TestFixture]
public sealed class MemorySessionKeyEnumeratorConformanceTests : SessionKeyEnumeratorConformanceTests
{
    private readonly MemorySessionBackend _backend = new();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_backend);

    // A store of its own per clock: an in-process store cannot be shared by instances on different clocks.
    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => new(new MemorySessionBackend(timeProvider: timeProvider));
}

[TestFixture]
public sealed class MemoryExpiredSessionPurgerConformanceTests : ExpiredSessionPurgerConformanceTests
{
    private readonly MemorySessionBackend _backend = new();

    protected override ValueTask<ISessionBackend> CreateBackendAsync() => new(_backend);

    // A store of its own per clock: an in-process store cannot be shared by instances on different clocks.
    protected override ValueTask<ISessionBackend> CreateBackendAsync(TimeProvider timeProvider) => new(new MemorySessionBackend(timeProvider: timeProvider));
}
