using NUnit.Framework;
using Sessions.DynamoDb.Tests.Support;

namespace Sessions.DynamoDb.Tests;

/// <summary>Stops the dynalite server this run started (by its PID), once all tests in the assembly have finished.</summary>
[SetUpFixture]
public sealed class DynaliteLifetime
{
    [OneTimeTearDown]
    public void StopDynalite() => Dynalite.Stop();
}
