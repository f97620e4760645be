using NUnit.Framework;
using Sessions.Redis.Tests.Support;

namespace Sessions.Redis.Tests;

/// <summary>Closes the shared multiplexers and stops every server the run started, by PID, once all tests in the assembly have finished.</summary>
[SetUpFixture]
public sealed class TestServersLifetime
{
    [OneTimeTearDown]
    public void StopServers()
    {
        SharedMultiplexers.CloseAll();
        TestServers.StopAll();
    }
}
