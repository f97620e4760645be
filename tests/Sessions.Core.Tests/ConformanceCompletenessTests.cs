using NUnit.Framework;

namespace Sessions.Core.Tests;

// Every kit fixture must have a subclass here (the in-memory backend supports every capability), so nothing is excused.
[TestFixture]
public sealed class ConformanceCompletenessTests : Conformance.ConformanceCompletenessTests
{
}
