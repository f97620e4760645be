using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Backends.Migration;
using Sessions.Memory;

namespace Sessions.Core.Tests.DependencyInjection;

/// <summary>How the migrating backend is put in force: AddMigratingBackend, or Sessions:Migration alone; and what start-up says when it is set wrong.</summary>
[TestFixture]
public sealed class MigratingBackendRegistrationTests
{
    [Test]
    public void Configuration_alone_puts_the_migration_in_force_over_Sessions_Backend()
    {
        using var services = Build(
            s => s.UseBackend("old", _ => new MemorySessionBackend()).AddMemoryBackend(),
            ("Backend", "memory"), ("Migration:From", "old"), ("Migration:To", "memory"));
        Assert.That(services.GetRequiredService<SessionBackendSelection>().Name, Is.EqualTo("old->memory"));
        var backend = services.GetRequiredService<ISessionBackend>() as MigratingSessionBackend;
        Assert.That(backend, Is.Not.Null);
        Assert.That(backend!.FromName, Is.EqualTo("old"));
        Assert.That(backend.ToName, Is.EqualTo("memory"));
        Assert.That(backend.CanEnumerateKeys, Is.True);
    }

    [Test]
    public void AddMigratingBackend_is_in_force_with_several_backends_and_no_Sessions_Backend()
    {
        using var services = Build(s => s.AddMemoryBackend().UseBackend("next", _ => new MemorySessionBackend()).AddMigratingBackend("memory", "next"));
        Assert.That(services.GetRequiredService<SessionBackendSelection>().Name, Is.EqualTo("memory->next"));
        Assert.That(services.GetRequiredService<ISessionBackend>(), Is.TypeOf<MigratingSessionBackend>());
    }

    [Test]
    public void Without_a_migration_Sessions_Backend_chooses_as_before()
    {
        using var services = Build(s => s.UseBackend("old", _ => new MemorySessionBackend()).AddMemoryBackend(), ("Backend", "old"));
        Assert.That(services.GetRequiredService<SessionBackendSelection>().Name, Is.EqualTo("old"));
        Assert.That(services.GetRequiredService<ISessionBackend>(), Is.TypeOf<MemorySessionBackend>());
    }

    [TestCase("Migration:From", "old", null, null, "needs both From and To")]
    [TestCase("Migration:From", "old", "Migration:To", "OLD", "two different backends")]
    [TestCase("Migration:From", "redis", "Migration:To", "memory", "Sessions:Migration:From is \"redis\", but no session backend of that name is registered. Registered: old, memory")]
    [TestCase("Migration:From", "old", "Migration:To", "redis", "Sessions:Migration:To is \"redis\"")]
    public void A_wrong_migration_fails_start_up_saying_what_to_set(string key1, string value1, string? key2, string? value2, string expected)
    {
        var values = key2 is null ? new[] { (key1, value1) } : [(key1, value1), (key2, value2!)];
        using var services = Build(s => s.UseBackend("old", _ => new MemorySessionBackend()).AddMemoryBackend(), values);
        var error = Assert.Throws<OptionsValidationException>(() => _ = services.GetRequiredService<IOptions<SessionOptions>>().Value);
        Assert.That(error!.Message, Does.Contain(expected));
    }

    [Test]
    public void AddMigratingBackend_refuses_one_backend_as_both_ends()
    {
        var builder = new ServiceCollection().AddSessions().AddMemoryBackend();
        Assert.Throws<ArgumentException>(() => builder.AddMigratingBackend("memory", "Memory"));
        Assert.Throws<ArgumentException>(() => builder.AddMigratingBackend(" ", "memory"));
    }

    private static ServiceProvider Build(Action<ISessionsBuilder> backends, params (string Key, string Value)[] values)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>($"Sessions:{v.Key}", v.Value)))
            .Build()
            .GetSection("Sessions");
        var services = new ServiceCollection();
        services.AddLogging();
        backends(services.AddSessions(configuration));
        return services.BuildServiceProvider();
    }
}
