using System.Diagnostics;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

/// <summary>
/// The <see cref="ISessionBackendHealthProbe"/> capability, which the sessions health check calls: the probe answers when the
/// store does, fails with a message when it does not, honours cancellation and leaves the data alone. Subclass it only for
/// a backend that implements the interface (excuse it in <see cref="ConformanceCompletenessTests.ExcusedFixtures"/> otherwise).
/// </summary>
/// <remarks>
/// Override <see cref="CreateUnreachableBackendAsync"/> to return a backend pointed at a store that does not answer (a
/// loopback port nothing listens on, a directory that cannot exist), so that the kit can check that the probe fails; until
/// then that test is ignored.
/// </remarks>
[ConformanceFixture]
public abstract class SessionBackendHealthProbeConformanceTests : BackendConformanceFixture
{
    /// <summary>How long a probe of an unreachable store may take to fail: the backend's connect timeout plus a margin. Default 30 s.</summary>
    protected virtual TimeSpan UnreachableProbeTimeout => TimeSpan.FromSeconds(30);

    /// <summary>
    /// Creates a backend whose store does not answer, for example one configured with a loopback port nothing listens on
    /// and a short connect timeout. Creating it must not fail; probing it must. The kit disposes it after the test.
    /// </summary>
    /// <returns>The backend.</returns>
    /// <remarks>Default: <c>Assert.Ignore</c>.</remarks>
    protected virtual ValueTask<ISessionBackend> CreateUnreachableBackendAsync()
    {
        Assert.Ignore($"{GetType().Name} does not override CreateUnreachableBackendAsync, so the kit cannot check that the probe fails when the store does not answer.");
        return default;
    }

    /// <summary>A probe of a store that answers completes without an exception, repeatedly and from several callers at once.</summary>
    [Test]
    public virtual async Task The_probe_completes_when_the_store_answers()
    {
        var probe = AsProbe(await NewBackendAsync());

        await probe.ProbeAsync(Token);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => probe.ProbeAsync(Token).AsTask()));
    }

    /// <summary>A probe changes no record: records written before it read back the same after it.</summary>
    [Test]
    public virtual async Task The_probe_leaves_records_alone()
    {
        var backend = await NewBackendAsync();
        var probe = AsProbe(backend);
        var key = NewKey();
        var record = NewRecord(LongTtl, version: 12);
        await backend.SetAsync(key, record, SetCondition.Always, Token);

        await probe.ProbeAsync(Token);

        AssertRecord(await backend.GetAsync(key, Token), record, "a record after a probe");
    }

    /// <summary>A probe of a store that does not answer throws (any exception but a cancellation the caller did not ask for), with a message, within <see cref="UnreachableProbeTimeout"/>.</summary>
    [Test]
    public virtual async Task The_probe_fails_when_the_store_does_not_answer()
    {
        var backend = await CreateUnreachableBackendAsync();
        Assert.That(backend, Is.Not.Null, $"{GetType().Name}.CreateUnreachableBackendAsync returned null.");
        try
        {
            var probe = AsProbe(backend);
            var started = Stopwatch.GetTimestamp();
            Exception? failure = null;
            try
            {
                await probe.ProbeAsync(Token).AsTask().WaitAsync(UnreachableProbeTimeout, Token);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"ProbeAsync against a store that does not answer was still running after {UnreachableProbeTimeout.TotalSeconds:F0} s; the health check would hang.");
            }
            catch (Exception e) when (e is not OperationCanceledException || !Token.IsCancellationRequested)
            {
                failure = e;
            }

            Assert.That(failure, Is.Not.Null, "ProbeAsync against a store that does not answer completed: the health check would report it healthy.");
            using (Assert.EnterMultipleScope())
            {
                Assert.That(failure, Is.Not.InstanceOf<OperationCanceledException>(), $"the probe reported a cancellation nobody asked for ({failure!.GetType().Name}); throw an exception that says what does not answer.");
                Assert.That(failure.Message, Is.Not.Empty, "the probe's exception message, which the health check reports");
            }

            TestContext.Out.WriteLine($"The probe failed after {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms: {failure.GetType().Name}: {failure.Message}");
        }
        finally
        {
            await DisposeBackendAsync(backend);
        }
    }

    /// <summary>Probing with an already-cancelled token throws <see cref="OperationCanceledException"/>.</summary>
    [Test]
    public virtual async Task The_probe_with_a_cancelled_token_throws()
    {
        var probe = AsProbe(await NewBackendAsync());

        await Assert.ThatAsync(async () => await probe.ProbeAsync(new CancellationToken(canceled: true)), Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary>Probing a disposed backend throws <see cref="ObjectDisposedException"/>: a disposed backend is not healthy.</summary>
    [Test]
    public virtual async Task The_probe_of_a_disposed_backend_throws()
    {
        var backend = await NewBackendAsync();
        var probe = AsProbe(backend);
        if (!await DisposeBackendAsync(backend))
        {
            Assert.Ignore($"{backend.GetType().Name} is not disposable.");
        }

        await Assert.ThatAsync(async () => await probe.ProbeAsync(Token), Throws.InstanceOf<ObjectDisposedException>());
    }

    private ISessionBackendHealthProbe AsProbe(ISessionBackend backend)
    {
        if (backend is ISessionBackendHealthProbe probe)
        {
            return probe;
        }

        Assert.Fail(
            $"{backend.GetType().Name} does not implement ISessionBackendHealthProbe, yet {GetType().Name} subclasses SessionBackendHealthProbeConformanceTests. " +
            "Subclass it only for a backend with a probe; otherwise excuse it in ConformanceCompletenessTests.ExcusedFixtures.");
        throw new UnreachableException();
    }
}
