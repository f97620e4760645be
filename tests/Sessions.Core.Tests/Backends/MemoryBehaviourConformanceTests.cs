using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Sessions.Conformance;

namespace Sessions.Core.Tests.Backends;

// The behaviour table over HTTP with the in-memory backend. It takes its clock from DI, so timeouts run on a manual clock.
[TestFixture]
public sealed class MemoryBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    protected override void AddBackend(ISessionsBuilder builder) => builder.AddMemoryBackend();
}

// The same table on real time (short timeouts, real waits), so that the kit's path for stores with their own clock
// (Redis, Memcached, ...) is itself exercised. Slower: about a dozen seconds of waiting.
[TestFixture]
public sealed class MemoryRealTimeBehaviourConformanceTests : SessionBehaviourConformanceTests
{
    protected override bool SupportsControllableTime => false;

    protected override void AddBackend(ISessionsBuilder builder) => builder.AddMemoryBackend();
}
