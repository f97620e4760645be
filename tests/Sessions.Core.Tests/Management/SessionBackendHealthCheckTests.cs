using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Core.Tests.Support;
using Sessions.Memory;

namespace Sessions.Core.Tests.Management;

public sealed class SessionBackendHealthCheckTests
{
    [Test]
    public async Task Healthy_with_the_memory_backend()
    {
        await using var provider = Build(b => b.AddMemoryBackend());

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries["sessions"];
        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Healthy), entry.Description);
        Assert.That(entry.Description, Does.Contain("'memory'"));
        Assert.That(entry.Data["backend"], Is.EqualTo("memory"));
    }

    [Test]
    public async Task Unhealthy_when_the_backend_throws_naming_the_backend_and_the_error()
    {
        var failing = new CountingBackend(new MemorySessionBackend()) { FailWith = new IOException("connection refused by 10.0.0.5:6379") };
        await using var provider = Build(b => b.UseBackend("redis-main", _ => failing));

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries["sessions"];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry.Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(entry.Description, Does.Contain("'redis-main'"), "the message names the backend");
            Assert.That(entry.Description, Does.Contain("connection refused by 10.0.0.5:6379"), "and says what went wrong");
            Assert.That(entry.Exception, Is.InstanceOf<IOException>());
            Assert.That(entry.Data["backend"], Is.EqualTo("redis-main"));
        }
    }

    [Test]
    public async Task The_failure_status_is_configurable()
    {
        var failing = new CountingBackend(new MemorySessionBackend()) { FailWith = new IOException("down") };
        await using var provider = Build(b => b.UseBackend("flaky", _ => failing), failureStatus: HealthStatus.Degraded);

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.That(report.Entries["sessions"].Status, Is.EqualTo(HealthStatus.Degraded));
    }

    [Test]
    public async Task A_backend_probe_is_used_when_the_backend_has_one()
    {
        var probing = new ProbingBackend { Fail = true };
        await using var provider = Build(b => b.UseBackend("probed", _ => probing));
        var health = provider.GetRequiredService<HealthCheckService>();

        var failed = await health.CheckHealthAsync();
        probing.Fail = false;
        var passed = await health.CheckHealthAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failed.Entries["sessions"].Status, Is.EqualTo(HealthStatus.Unhealthy), "the probe failed, though reads would work");
            Assert.That(failed.Entries["sessions"].Description, Does.Contain("PING timed out"));
            Assert.That(passed.Entries["sessions"].Status, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(probing.Probes, Is.EqualTo(2));
        }
    }

    private static ServiceProvider Build(Action<ISessionsBuilder> backend, HealthStatus? failureStatus = null)
    {
        var services = new ServiceCollection().AddLogging();
        backend(services.AddSessions());
        services.AddHealthChecks().AddSessionsHealthCheck(failureStatus: failureStatus);
        return services.BuildServiceProvider();
    }

    private sealed class ProbingBackend() : ForwardingBackend(new MemorySessionBackend()), ISessionBackendHealthProbe
    {
        public bool Fail { get; set; }

        public int Probes { get; private set; }

        public ValueTask ProbeAsync(CancellationToken cancellationToken)
        {
            Probes++;
            return Fail ? ValueTask.FromException(new TimeoutException("PING timed out after 5 s")) : ValueTask.CompletedTask;
        }
    }
}
