namespace Sessions.Conformance;

/// <summary>
/// Marks an abstract kit fixture that every backend test assembly must subclass (or excuse, with a reason, in
/// <see cref="ConformanceCompletenessTests.ExcusedFixtures"/>).
/// </summary>
/// <remarks>Not inherited: a backend's concrete subclass is not itself a kit fixture.</remarks>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class ConformanceFixtureAttribute : Attribute
{
}
