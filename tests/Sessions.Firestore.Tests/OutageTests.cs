using System.Diagnostics;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Conformance;
using Sessions.Firestore.Tests.Support;

namespace Sessions.Firestore.Tests;

/// <summary>
/// An emulator of the test's own, stopped and restarted under load: while it is down every call fails promptly with a
/// <see cref="FirestoreSessionException"/> that names the endpoint and the setting; once it is back the same backend
/// instance (no app restart) serves again.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class OutageTests
{
    private const int Callers = 8;

    [Test]
    public async Task Calls_fail_clearly_while_the_emulator_is_down_and_recover_without_a_new_backend()
    {
        var port = ServerProcess.FreeLoopbackPort();
        await using var emulator = await FirestoreEmulator.StartPrivateAsync(port);
        await using var backend = new FirestoreSessionBackend(new FirestoreSessionBackendOptions
        {
            ProjectId = "outage",
            EmulatorHost = $"127.0.0.1:{port}",
            CallTimeout = TimeSpan.FromSeconds(5),
        });

        using var stop = new CancellationTokenSource();
        var load = new Load();
        var callers = Enumerable.Range(0, Callers).Select(i => Task.Run(() => load.RunAsync(backend, $"load:{i}", stop.Token))).ToArray();
        await load.WaitForSuccessesAsync(50, "before the outage");

        await emulator.KillAsync();
        await Task.Delay(200); // calls that completed just before the kill finish counting
        load.Reset();
        await load.WaitForFailuresAsync(20, "while the emulator is down");
        var failure = load.LastFailure!;
        var failedAfterKill = load.Successes;

        var watch = Stopwatch.StartNew();
        await emulator.RestartAsync();
        var restarted = watch.Elapsed;
        load.Reset();
        await load.WaitForSuccessesAsync(1, "after the restart");
        var recovered = watch.Elapsed - restarted;
        await load.WaitForSuccessesAsync(50, "after the restart");

        await stop.CancelAsync();
        await Task.WhenAll(callers);

        TestContext.Out.WriteLine($"restart took {restarted.TotalSeconds:F1} s; the first load-and-save succeeded {recovered.TotalMilliseconds:F0} ms after the emulator answered");
        TestContext.Out.WriteLine($"failure while down: {failure.Message}");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(failure.Message, Does.Contain($"127.0.0.1:{port}").And.Contain("Sessions:Firestore:EmulatorHost"), "the failure names the endpoint and the setting");
            Assert.That(failure.StatusCode, Is.EqualTo(Grpc.Core.StatusCode.Unavailable).Or.EqualTo(Grpc.Core.StatusCode.DeadlineExceeded), "the gRPC status of an outage");
            Assert.That(failedAfterKill, Is.Zero, "no call succeeded while the emulator was down");
            Assert.That(load.MaxFailureLatency, Is.LessThan(TimeSpan.FromSeconds(6)), "each failing call ends within its deadline");
            Assert.That(recovered, Is.LessThan(TimeSpan.FromSeconds(10)), "the same backend serves again soon after the emulator is back");
        }
    }

    private sealed class Load
    {
        private long _successes;
        private long _failures;
        private long _maxFailureTicks;

        public long Successes => Interlocked.Read(ref _successes);

        public FirestoreSessionException? LastFailure { get; private set; }

        public TimeSpan MaxFailureLatency => TimeSpan.FromTicks(Interlocked.Read(ref _maxFailureTicks));

        public void Reset()
        {
            Interlocked.Exchange(ref _successes, 0);
            Interlocked.Exchange(ref _failures, 0);
        }

        private long _running;

        public async Task RunAsync(ISessionBackend backend, string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _running);
            try
            {
                await LoopAsync(backend, key, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        private async Task LoopAsync(ISessionBackend backend, string key, CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var current = await backend.GetAsync(key, CancellationToken.None);
                    var next = new SessionRecord(new byte[] { 1, 2, 3 }, DateTimeOffset.UtcNow.AddHours(1), (current?.Version ?? 0) + 1);
                    await backend.SetAsync(key, next, current is null ? SetCondition.IfAbsent : SetCondition.IfVersion(current.Version, current.ConcurrencyToken), CancellationToken.None);
                    Interlocked.Increment(ref _successes);
                }
                catch (FirestoreSessionException e)
                {
                    LastFailure = e;
                    Interlocked.Increment(ref _failures);
                    var elapsed = Stopwatch.GetElapsedTime(started).Ticks;
                    long seen;
                    while (elapsed > (seen = Interlocked.Read(ref _maxFailureTicks)) && Interlocked.CompareExchange(ref _maxFailureTicks, elapsed, seen) != seen)
                    {
                    }

                    await Task.Delay(20, CancellationToken.None); // an app's requests keep coming, not in a hot loop
                }
                catch (Exception e)
                {
                    // Anything else breaks the backend's promise (every failure is a FirestoreSessionException): keep it
                    // for the report instead of letting this caller end silently.
                    Unexpected ??= e;
                    return;
                }
            }
        }

        /// <summary>The first exception a call threw that was not a <see cref="FirestoreSessionException"/>.</summary>
        public Exception? Unexpected { get; private set; }

        public Task WaitForSuccessesAsync(long count, string when) => WaitAsync(() => Interlocked.Read(ref _successes) >= count, $"{count} successful load-and-saves {when}");

        public Task WaitForFailuresAsync(long count, string when) => WaitAsync(() => Interlocked.Read(ref _failures) >= count, $"{count} failed calls {when}");

        private async Task WaitAsync(Func<bool> condition, string what)
        {
            var watch = Stopwatch.StartNew();
            while (!condition())
            {
                if (Unexpected is { } unexpected)
                {
                    Assert.Fail($"While waiting for {what}, a call threw {unexpected.GetType().FullName} instead of a FirestoreSessionException: {unexpected}");
                }

                if (watch.Elapsed > TimeSpan.FromSeconds(90))
                {
                    Assert.Fail($"Waited 90 s for {what}: {Successes} calls succeeded and {Interlocked.Read(ref _failures)} failed meanwhile, {Interlocked.Read(ref _running)} of {Callers} callers still running.");
                }

                await Task.Delay(20);
            }
        }
    }
}
