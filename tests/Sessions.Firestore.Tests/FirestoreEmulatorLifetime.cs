using NUnit.Framework;
using Sessions.Firestore.Tests.Support;

namespace Sessions.Firestore.Tests;

/// <summary>Stops the Firestore emulator this run started (by its PID, with its children), once every test in the assembly has finished.</summary>
[SetUpFixture]
public sealed class FirestoreEmulatorLifetime
{
    [OneTimeTearDown]
    public void StopEmulator() => FirestoreEmulator.Stop();
}
