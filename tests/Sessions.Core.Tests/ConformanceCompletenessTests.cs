using NUnit.Framework;
using Sessions.Conformance;

namespace Sessions.Core.Tests;

// Every kit fixture must have a subclass here (the in-memory backend supports every capability but the health probe).
[TestFixture]
public sealed class ConformanceCompletenessTests : Conformance.ConformanceCompletenessTests
{
    protected override IReadOnlyDictionary<Type, string> ExcusedFixtures { get; } = new Dictionary<Type, string>
    {
        [typeof(SessionBackendHealthProbeConformanceTests)] =
            "the memory backend has no ISessionBackendHealthProbe: it lives in the process, so it answers whenever the app does",
    };
}
