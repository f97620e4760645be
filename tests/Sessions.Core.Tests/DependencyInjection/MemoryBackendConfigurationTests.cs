using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Memory;

namespace Sessions.Core.Tests.DependencyInjection;

/// <summary>AddMemoryBackend binds Sessions:Memory like every backend, and its eviction counter names the backend.</summary>
public sealed class MemoryBackendConfigurationTests
{
    [Test]
    public void Sessions_Memory_binds_and_the_code_delegate_runs_after()
    {
        var services = new ServiceCollection();
        services.AddSessions(Configuration(("Sessions:Memory:MaxEntries", "10"))).AddMemoryBackend(o => o.MaxEntries *= 2);
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<IOptions<MemorySessionBackendOptions>>().Value.MaxEntries, Is.EqualTo(20));
    }

    [Test]
    public async Task An_invalid_bound_fails_start_up_only_when_the_memory_backend_is_selected()
    {
        var configuration = Configuration(("Sessions:Memory:MaxEntries", "0"), ("Sessions:Backend", "other"));
        var selectedElsewhere = Host(configuration, b => b.AddMemoryBackend().UseBackend("other", _ => new MemorySessionBackend()));
        await selectedElsewhere.StartAsync();
        await selectedElsewhere.StopAsync();
        selectedElsewhere.Dispose();

        using var selected = Host(Configuration(("Sessions:Memory:MaxEntries", "0")), b => b.AddMemoryBackend());
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => selected.StartAsync());

        Assert.That(ex!.Message, Does.Contain("Sessions:Memory:MaxEntries must be positive"));
    }

    [Test]
    public async Task Evictions_are_tagged_with_the_backend()
    {
        var tags = new List<object?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Sessions" && instrument.Name == "sessions.backend.evictions")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, measurementTags, _) =>
        {
            lock (tags)
            {
                foreach (var tag in measurementTags)
                {
                    if (tag.Key == "sessions.backend")
                    {
                        tags.Add(tag.Value);
                    }
                }
            }
        });
        listener.Start();
        var backend = new MemorySessionBackend(new MemorySessionBackendOptions { MaxEntries = 2 });

        for (var i = 0; i < 5; i++)
        {
            await backend.SetAsync($"evict:{Guid.NewGuid():N}", new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, CancellationToken.None);
        }

        lock (tags)
        {
            Assert.That(tags, Is.Not.Empty.And.All.EqualTo("memory"), "the sessions.backend tag of every eviction measurement");
        }
    }

    private static IConfigurationSection Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build().GetSection("Sessions");

    private static IHost Host(IConfigurationSection section, Action<ISessionsBuilder> backends)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        backends(builder.Services.AddSessions(section));
        return builder.Build();
    }
}
