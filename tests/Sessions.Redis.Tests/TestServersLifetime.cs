using NUnit.Framework;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests;

/// <summary>Stops every server the run started, by PID, once all tests in the assembly have finished.</summary>
[SetUpFixture]
public sealed class TestServersLifetime
{
    [OneTimeTearDown]
    public void StopServers() => TestServers.StopAll();
}
