using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Engine;
using Sessions.Ids;
using Sessions.Memory;

namespace Sessions.Core.Tests.DependencyInjection;

public sealed class SessionsServiceCollectionExtensionsTests
{
    private static readonly string s_signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Test]
    public void Sessions_with_the_memory_backend_resolve_a_store_named_memory()
    {
        using var provider = new ServiceCollection()
            .AddLogging()
            .AddSessions(o => o.KeyPrefix = "test:")
            .AddMemoryBackend()
            .Services.BuildServiceProvider(validateScopes: true);

        var store = provider.GetRequiredService<SessionStore>();

        Assert.That(store.BackendName, Is.EqualTo("memory"));
        Assert.That(store.Backend, Is.InstanceOf<MemorySessionBackend>());
        Assert.That(store.Options.KeyPrefix, Is.EqualTo("test:"));
        Assert.That(provider.GetRequiredService<SessionStore>(), Is.SameAs(store));
        Assert.That(provider.GetRequiredService<ISessionBackend>(), Is.SameAs(store.Backend));
    }

    [Test]
    public void Startup_validation_passes_for_a_complete_registration()
    {
        using var provider = new ServiceCollection().AddSessions().AddMemoryBackend().Services.BuildServiceProvider();

        Assert.That(() => provider.GetRequiredService<IStartupValidator>().Validate(), Throws.Nothing);
    }

    [Test]
    public void Options_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["IdleTimeout"] = "00:03:00",
                ["AbsoluteTimeout"] = "08:00:00",
                ["TouchAfter"] = "00:00:30",
                ["KeyPrefix"] = "shop:",
                ["HashIdsAtRest"] = "false",
                ["IdLengthBytes"] = "48",
                ["Format"] = "Json",
                ["MaxPayloadBytes"] = "4096",
                ["ConcurrencyMode"] = "Fail",
                ["MaxConflictRetries"] = "3",
                ["FailureMode"] = "Continue",
                ["PersistentByDefault"] = "true",
                ["SigningKeys:0"] = s_signingKey,
                ["ProtectionIgnoreRevocationErrors"] = "false",
            })
            .Build();

        using var provider = new ServiceCollection().AddSessions(configuration).AddMemoryBackend().Services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<SessionOptions>>().Value;

        Assert.That(options.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(3)));
        Assert.That(options.AbsoluteTimeout, Is.EqualTo(TimeSpan.FromHours(8)));
        Assert.That(options.TouchAfter, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(options.KeyPrefix, Is.EqualTo("shop:"));
        Assert.That(options.HashIdsAtRest, Is.False);
        Assert.That(options.IdLengthBytes, Is.EqualTo(48));
        Assert.That(options.Format, Is.EqualTo(SessionFormat.Json));
        Assert.That(options.MaxPayloadBytes, Is.EqualTo(4096));
        Assert.That(options.ConcurrencyMode, Is.EqualTo(ConcurrencyMode.Fail));
        Assert.That(options.MaxConflictRetries, Is.EqualTo(3));
        Assert.That(options.FailureMode, Is.EqualTo(FailureMode.Continue));
        Assert.That(options.PersistentByDefault, Is.True);
        Assert.That(options.SigningKeys, Is.EqualTo(new[] { s_signingKey }));
        Assert.That(options.ProtectionIgnoreRevocationErrors, Is.False);
    }

    [Test]
    public void Options_bind_from_a_configuration_section()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Sessions:IdleTimeout"] = "00:05:00", ["Sessions:KeyPrefix"] = "s:" })
            .Build();

        using var provider = new ServiceCollection().AddSessions(configuration.GetSection("Sessions")).AddMemoryBackend().Services.BuildServiceProvider();
        var store = provider.GetRequiredService<SessionStore>();

        Assert.That(store.Options.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(5)));
        Assert.That(store.Options.KeyPrefix, Is.EqualTo("s:"));
    }

    [Test]
    public void Id_generator_uses_the_configured_id_length()
    {
        using var provider = new ServiceCollection().AddSessions(o => o.IdLengthBytes = 64).AddMemoryBackend().Services.BuildServiceProvider();

        var id = provider.GetRequiredService<ISessionIdGenerator>().CreateId();

        Assert.That(id, Has.Length.EqualTo(86));
    }

    [Test]
    public void Without_a_backend_reading_the_options_says_to_chain_one()
    {
        using var provider = new ServiceCollection().AddSessions().Services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<SessionOptions>>().Value);

        Assert.That(ex.Message, Does.Contain("AddMemoryBackend"));
        Assert.That(ex.Message, Does.Contain("No session backend is registered"));
    }

    [Test]
    public void Without_a_backend_startup_validation_fails()
    {
        using var provider = new ServiceCollection().AddSessions().Services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.That(ex.Message, Does.Contain("AddMemoryBackend"));
    }

    [Test]
    public void Calling_add_sessions_twice_reports_each_problem_once()
    {
        var services = new ServiceCollection();
        services.AddSessions(o => o.IdleTimeout = TimeSpan.Zero);
        services.AddSessions();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.That(ex.Failures.Count(f => f.Contains("No session backend", StringComparison.Ordinal)), Is.EqualTo(1), ex.Message);
        Assert.That(ex.Failures.Count(f => f.Contains("Sessions:IdleTimeout", StringComparison.Ordinal)), Is.EqualTo(1), ex.Message);
    }

    [Test]
    public void Invalid_options_fail_startup_validation_naming_the_setting()
    {
        using var provider = new ServiceCollection()
            .AddSessions(o => o.IdleTimeout = TimeSpan.Zero)
            .AddMemoryBackend()
            .Services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.That(ex.Message, Does.Contain("Sessions:IdleTimeout"));
        Assert.That(ex.OptionsType, Is.EqualTo(typeof(SessionOptions)));
    }

    [Test]
    public void Invalid_options_from_configuration_fail_startup_validation_naming_the_setting()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["KeyPrefix"] = "has space:", ["SigningKeys:0"] = "too short" })
            .Build();
        using var provider = new ServiceCollection().AddSessions(configuration).AddMemoryBackend().Services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.That(ex.Message, Does.Contain("Sessions:KeyPrefix").And.Contain("Sessions:SigningKeys:0"));
    }

    [Test]
    public void An_invalid_signing_key_stops_the_protector_from_resolving()
    {
        using var provider = new ServiceCollection()
            .AddSessions(o => o.SigningKeys.Add("not base64!"))
            .AddMemoryBackend()
            .Services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<ISessionIdProtector>());

        Assert.That(ex.Message, Does.Contain("Sessions:SigningKeys:0"));
    }

    [Test]
    public void Signing_keys_make_the_protector_an_hmac_protector_using_them()
    {
        using var provider = new ServiceCollection()
            .AddSessions(o => o.SigningKeys.Add(s_signingKey))
            .AddMemoryBackend()
            .Services.BuildServiceProvider();

        var protector = provider.GetRequiredService<ISessionIdProtector>();
        var value = protector.Protect("abc");

        Assert.That(protector, Is.InstanceOf<HmacSessionIdProtector>());
        Assert.That(new HmacSessionIdProtector([Convert.FromBase64String(s_signingKey)]).TryUnprotect(value, out var id), Is.True);
        Assert.That(id, Is.EqualTo("abc"));
    }

    [Test]
    public void Without_signing_keys_the_protector_is_the_plain_one()
    {
        using var provider = new ServiceCollection().AddSessions().AddMemoryBackend().Services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<ISessionIdProtector>(), Is.SameAs(PlainSessionIdProtector.Instance));
    }

    [Test]
    public void Registering_a_name_again_replaces_that_registration()
    {
        var other = new MemorySessionBackend();
        var services = new ServiceCollection();
        services.AddSessions().AddMemoryBackend().UseBackend("memory", _ => other);

        using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<SessionStore>();

        Assert.That(store.BackendName, Is.EqualTo("memory"));
        Assert.That(store.Backend, Is.SameAs(other));
        Assert.That(provider.GetServices<SessionBackendRegistration>().Select(r => r.Name), Is.EqualTo(new[] { "memory" }));
        Assert.That(provider.GetServices<ISessionBackend>().ToList(), Has.Count.EqualTo(1));
    }

    [Test]
    public void Sessions_Backend_chooses_among_several_registered_backends()
    {
        var other = new MemorySessionBackend();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Sessions:Backend"] = "OTHER" }).Build();
        var services = new ServiceCollection();
        services.AddSessions(configuration.GetSection("Sessions")).AddMemoryBackend().UseBackend("other", _ => other);

        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<SessionStore>().Backend, Is.SameAs(other));
        Assert.That(provider.GetRequiredService<SessionBackendSelection>().Name, Is.EqualTo("other"));
    }

    [TestCase(null, "Several session backends are registered (memory, other)")]
    [TestCase("redis", "Sessions:Backend is \"redis\", but no session backend of that name is registered. Registered: memory, other.")]
    public void A_missing_or_unknown_backend_name_fails_at_start_up_with_the_registered_names(string? name, string expected)
    {
        var services = new ServiceCollection();
        services.AddSessions(o => o.Backend = name).AddMemoryBackend().UseBackend("other", _ => new MemorySessionBackend());

        using var provider = services.BuildServiceProvider();

        Assert.That(() => provider.GetRequiredService<IOptions<SessionOptions>>().Value, Throws.InstanceOf<OptionsValidationException>().With.Message.Contains(expected));
    }

    [Test]
    public void A_backend_binds_its_options_from_its_child_section_and_code_runs_after()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sessions:Memory:MaxEntries"] = "10",
            ["Sessions:Memory:Other"] = "x",
        }).Build();
        var services = new ServiceCollection();
        var builder = services.AddSessions(configuration.GetSection("Sessions"));
        builder.AddBackendOptions<BoundOptions>("Memory", o => o.Trace += "code;");
        builder.AddBackendOptions<BoundOptions>("Memory", o => o.Trace += "again;");

        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<BoundOptions>>().Value;

        Assert.That(options.MaxEntries, Is.EqualTo(10));
        Assert.That(options.Trace, Is.EqualTo("code;again;"), "bound once, then each delegate in order");
    }

    private sealed class BoundOptions
    {
        public int MaxEntries { get; set; }

        public string Trace { get; set; } = "";
    }

    [Test]
    public void The_backend_is_created_once()
    {
        var created = 0;
        var services = new ServiceCollection();
        services.AddSessions().UseBackend("counted", _ =>
        {
            created++;
            return new MemorySessionBackend();
        });

        using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<SessionStore>();
        _ = provider.GetRequiredService<ISessionBackend>();

        Assert.That(created, Is.EqualTo(1));
    }

    [Test]
    public void Registered_time_provider_is_used_rather_than_replaced()
    {
        var clock = new FixedTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddSessions().AddMemoryBackend();

        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<TimeProvider>(), Is.SameAs(clock));
    }

    [Test]
    public void Use_backend_refuses_an_empty_name()
    {
        var builder = new ServiceCollection().AddSessions();

        Assert.That(() => builder.UseBackend("", _ => new MemorySessionBackend()), Throws.ArgumentException);
    }

    private sealed class FixedTimeProvider : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }
}
