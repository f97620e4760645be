using System.Reflection;
using NUnit.Framework;

namespace Sessions.Conformance;

/// <summary>
/// Fails when the test assembly that subclasses this leaves a kit fixture (a class marked
/// <see cref="ConformanceFixtureAttribute"/>) without a concrete subclass and without a stated reason, so that a new kit
/// fixture cannot be skipped silently.
/// </summary>
public abstract class ConformanceCompletenessTests
{
    /// <summary>
    /// Kit fixture types this assembly deliberately does not subclass, each with the reason (for example
    /// <c>[typeof(ExpiredSessionPurgerConformanceTests)] = "Redis expires keys natively"</c>). Default: none.
    /// </summary>
    protected virtual IReadOnlyDictionary<Type, string> ExcusedFixtures { get; } = new Dictionary<Type, string>();

    /// <summary>Every kit fixture has a non-abstract subclass in this assembly, or is excused with a non-empty reason.</summary>
    [Test]
    public virtual void Every_kit_fixture_is_subclassed_or_excused()
    {
        var fixtures = KitFixtures();
        Assert.That(fixtures, Is.Not.Empty, "no kit fixture found: the completeness check would pass vacuously.");

        var local = LoadableTypes(GetType().Assembly).Where(t => t is { IsClass: true, IsAbstract: false }).ToList();
        var excused = ExcusedFixtures;
        var problems = new List<string>();
        foreach (var fixture in fixtures)
        {
            var subclassed = local.Any(t => t.IsSubclassOf(fixture));
            var hasExcuse = excused.TryGetValue(fixture, out var reason);
            if (hasExcuse && string.IsNullOrWhiteSpace(reason))
            {
                problems.Add($"{fixture.Name} is excused without a reason; state why the backend does not need it.");
            }
            else if (hasExcuse)
            {
                TestContext.Out.WriteLine($"{fixture.Name}: excused ({reason}){(subclassed ? ", though it is also subclassed" : string.Empty)}.");
            }
            else if (!subclassed)
            {
                problems.Add($"{fixture.Name} has no subclass in {GetType().Assembly.GetName().Name}; subclass it, or add it to ExcusedFixtures with the reason.");
            }
        }

        foreach (var stray in excused.Keys.Except(fixtures))
        {
            problems.Add($"ExcusedFixtures names {stray.FullName}, which is not a kit fixture; remove it.");
        }

        Assert.That(problems, Is.Empty, "kit fixtures without a subclass or a reasoned excuse");
    }

    private static List<Type> KitFixtures() =>
        [.. typeof(ConformanceCompletenessTests).Assembly.GetExportedTypes()
            .Where(t => t is { IsClass: true, IsAbstract: true } && t.IsDefined(typeof(ConformanceFixtureAttribute), inherit: false))
            .OrderBy(t => t.Name, StringComparer.Ordinal)];

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }
}
