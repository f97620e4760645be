using Sessions.Conformance;

namespace Sessions.FileSystem.Tests.Conformance;

/// <summary>Fails if this project leaves a kit fixture unsubclassed: the file-system backend supports every capability.</summary>
public sealed class FileSystemConformanceCompletenessTests : ConformanceCompletenessTests
{
}
