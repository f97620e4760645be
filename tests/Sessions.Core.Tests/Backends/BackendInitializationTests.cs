using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Core.Tests.Support;
using Sessions.Memory;

namespace Sessions.Core.Tests.Backends;

/// <summary>
/// What the engine does with a backend's start-up work (<see cref="ISessionBackendInitializer"/>) when the host starts, and
/// how a backend registered with <c>AddBackend</c> reports invalid options.
/// </summary>
[TestFixture]
public sealed class BackendInitializationTests
{
    [Test]
    public async Task The_backend_in_force_does_its_start_up_work_once_when_the_host_starts_and_the_log_says_so()
    {
        var backend = new InitializingBackend(new MemorySessionBackend());
        var (provider, logs) = Build(s => s.AddSessions().UseBackend("init", _ => backend));
        await using var _ = provider;

        await StartAsync(provider);

        Assert.That(backend.Initializations, Is.EqualTo(1));
        var events = logs.GetSnapshot().Select(r => r.Id.Id).ToList();
        Assert.That(events, Does.Contain(1080).And.Contain(1081), "the log says what start-up waits for, and when it is done");
        Assert.That(logs.GetSnapshot().Single(r => r.Id.Id == 1080).Message, Does.Contain("'init'"));
    }

    [Test]
    public async Task A_backend_that_is_not_in_force_does_no_start_up_work()
    {
        var selected = new InitializingBackend(new MemorySessionBackend());
        var other = new InitializingBackend(new MemorySessionBackend());
        var (provider, _) = Build(s => s.AddSessions(o => o.Backend = "a").UseBackend("a", _ => selected).UseBackend("b", _ => other));
        await using var _ = provider;

        await StartAsync(provider);

        Assert.That((selected.Initializations, other.Initializations), Is.EqualTo((1, 0)));
    }

    [Test]
    public async Task Start_up_work_that_fails_stops_the_host_with_the_backend_s_error()
    {
        var backend = new InitializingBackend(new MemorySessionBackend(), fail: true);
        var (provider, _) = Build(s => s.AddSessions().UseBackend("init", _ => backend));
        await using var _ = provider;

        var error = Assert.ThrowsAsync<SessionStoreException>(() => StartAsync(provider));

        Assert.That(error!.Message, Does.Contain("the table is missing"));
    }

    [Test]
    public async Task Messages_of_a_generated_options_validator_start_with_the_setting_not_the_member_name()
    {
        var (provider, _) = Build(s => s.AddSessions().AddBackend<TableOptions, TableOptionsValidator>(
            "table", "Table", o => o.Name = null, static (_, _) => new MemorySessionBackend()));
        await using var _ = provider;

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TableOptions>>().Value.ToString());

        Assert.That(error!.Failures, Has.Some.StartsWith("Sessions:Table:Name must be set"), string.Join(" | ", error.Failures));
        Assert.That(error.Failures, Has.None.StartsWith("Name:"));
    }

    private static (ServiceProvider Provider, FakeLogCollector Logs) Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddFakeLogging();
        configure(services);
        var provider = services.BuildServiceProvider();
        return (provider, provider.GetFakeLogCollector());
    }

    private static async Task StartAsync(IServiceProvider provider)
    {
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }

    /// <summary>A real in-memory store with start-up work that counts its runs (and can fail, as a store that cannot be prepared).</summary>
    private sealed class InitializingBackend(MemorySessionBackend inner, bool fail = false) : ForwardingBackend(inner), ISessionBackendInitializer
    {
        private int _initializations;

        public int Initializations => Volatile.Read(ref _initializations);

        public ValueTask InitializeAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _initializations);
            return fail ? ValueTask.FromException(new SessionStoreException("The store cannot be prepared: the table is missing.")) : ValueTask.CompletedTask;
        }
    }
}

/// <summary>Options of a test backend, validated by data annotations.</summary>
public sealed class TableOptions
{
    [Required(ErrorMessage = "Sessions:Table:Name must be set.")]
    public string? Name { get; set; } = "sessions";
}

/// <summary>The source-generated validator of <see cref="TableOptions"/>.</summary>
[OptionsValidator]
public sealed partial class TableOptionsValidator : IValidateOptions<TableOptions>;
