using Sessions.Conformance;

namespace Sessions.FileSystem.Tests.Conformance;

/// <summary>Fails if this project leaves a kit fixture unsubclassed: the file-system backend supports every capability but the health probe.</summary>
public sealed class FileSystemConformanceCompletenessTests : ConformanceCompletenessTests
{
    protected override IReadOnlyDictionary<Type, string> ExcusedFixtures { get; } = new Dictionary<Type, string>
    {
        [typeof(SessionBackendHealthProbeConformanceTests)] =
            "the file-system backend has no ISessionBackendHealthProbe: the health check's read of an absent key is the probe (a directory has no connection to check)",
    };
}
