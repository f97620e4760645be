using Sessions.Tool.Tests.Support;

// In the root namespace of the tests: NUnit runs a SetUpFixture around the fixtures of its namespace and below.
namespace Sessions.Tool.Tests;

/// <summary>Stops the redis-server the run started (by its PID) once every test in the assembly has finished.</summary>
[SetUpFixture]
public sealed class ToolTestServersLifetime
{
    [OneTimeTearDown]
    public void StopServers() => ToolTestServers.StopAll();
}
