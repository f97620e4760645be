using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Firestore.Tests.Support;

namespace Sessions.Firestore.Tests;

/// <summary>Options: defaults, validation messages that name the setting, binding from <c>Sessions:Firestore</c>, and selection by <c>Sessions:Backend</c>.</summary>
[TestFixture]
public sealed class OptionsTests
{
    [Test]
    public void Defaults_are_the_default_database_the_sessions_collection_and_a_one_second_deadline()
    {
        var options = new FirestoreSessionBackendOptions();

        Assert.That((options.DatabaseId, options.Collection, options.CallTimeout), Is.EqualTo(("(default)", "sessions", TimeSpan.FromSeconds(1))));
    }

    [Test]
    public void Invalid_options_are_refused_with_messages_that_name_the_setting()
    {
        var options = new FirestoreSessionBackendOptions
        {
            ProjectId = "",
            DatabaseId = "a/b",
            Collection = "__x__",
            EmulatorHost = "http://127.0.0.1:8080",
            CallTimeout = TimeSpan.Zero,
            QueryTimeout = TimeSpan.FromHours(2),
        };

        var errors = options.Validate();

        Assert.That(errors, Has.Some.Contains("Sessions:Firestore:ProjectId")
            .And.Some.Contains("Sessions:Firestore:DatabaseId")
            .And.Some.Contains("Sessions:Firestore:Collection")
            .And.Some.Contains("Sessions:Firestore:EmulatorHost")
            .And.Some.Contains("Sessions:Firestore:CallTimeout")
            .And.Some.Contains("Sessions:Firestore:QueryTimeout"));
        Assert.That(() => new FirestoreSessionBackend(options), Throws.ArgumentException.With.Message.Contains("Sessions:Firestore:ProjectId"));
    }

    [Test]
    public void A_missing_service_account_file_is_named_in_the_message()
    {
        var options = new FirestoreSessionBackendOptions { ProjectId = "p", CredentialsPath = "/nonexistent/key.json" };

        Assert.That(options.Validate(), Has.Some.Contains("Sessions:Firestore:CredentialsPath").And.Some.Contains("/nonexistent/key.json"));
    }

    [Test]
    public async Task The_backend_binds_from_Sessions_Firestore_and_is_chosen_by_Sessions_Backend()
    {
        var host = await FirestoreEmulator.HostAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sessions:Backend"] = "firestore",
            ["Sessions:Firestore:ProjectId"] = "demo",
            ["Sessions:Firestore:EmulatorHost"] = host,
            ["Sessions:Firestore:Collection"] = "web-sessions",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSessions(configuration.GetSection("Sessions")).AddMemoryBackend().AddFirestoreBackend(o => o.CallTimeout = TimeSpan.FromSeconds(10));
        await using var provider = services.BuildServiceProvider();

        var backend = provider.GetRequiredService<ISessionBackend>();

        Assert.That(backend, Is.InstanceOf<FirestoreSessionBackend>());
        var firestore = (FirestoreSessionBackend)backend;
        Assert.That((firestore.Endpoint, firestore.Database, firestore.Collection), Is.EqualTo((host, "projects/demo/databases/(default)", "web-sessions")));
        Assert.That(provider.GetRequiredService<IOptions<FirestoreSessionBackendOptions>>().Value.CallTimeout, Is.EqualTo(TimeSpan.FromSeconds(10)), "configure runs after binding");
        await firestore.ProbeAsync(CancellationToken.None);
    }

    [Test]
    public async Task A_registered_but_unselected_Firestore_backend_with_bad_options_does_not_fail()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSessions(o => o.Backend = "memory").AddMemoryBackend().AddFirestoreBackend();
        await using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<ISessionBackend>(), Is.Not.InstanceOf<FirestoreSessionBackend>());
    }

    [Test]
    public async Task Selected_with_bad_options_the_backend_fails_with_the_setting_named()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSessions(o => o.Backend = "firestore").AddFirestoreBackend(o => o.EmulatorHost = "127.0.0.1:1");
        await using var provider = services.BuildServiceProvider();

        Assert.That(() => provider.GetRequiredService<ISessionBackend>(), Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("Sessions:Firestore:ProjectId"));
    }

    [Test]
    public async Task An_unreachable_emulator_is_reported_promptly_with_its_address_and_the_setting()
    {
        var port = Sessions.Conformance.ServerProcess.FreeLoopbackPort();
        await using var backend = new FirestoreSessionBackend(new FirestoreSessionBackendOptions { ProjectId = "p", EmulatorHost = $"127.0.0.1:{port}" });

        var error = Assert.ThrowsAsync<FirestoreSessionException>(async () => await backend.GetAsync("k", CancellationToken.None));
        var probe = Assert.ThrowsAsync<FirestoreSessionException>(async () => await backend.ProbeAsync(CancellationToken.None));

        Assert.That(error!.Message, Does.Contain($"Firestore at 127.0.0.1:{port}").And.Contain("Sessions:Firestore:EmulatorHost"));
        Assert.That(error.StatusCode, Is.EqualTo(Grpc.Core.StatusCode.Unavailable));
        Assert.That(probe!.Message, Does.Contain("health probe"));
    }

    [Test]
    public async Task A_call_past_its_deadline_fails_with_DeadlineExceeded_and_names_the_timeout_setting()
    {
        // A listener that accepts connections and never answers: a frozen server.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        await using var backend = new FirestoreSessionBackend(new FirestoreSessionBackendOptions { ProjectId = "p", EmulatorHost = $"127.0.0.1:{port}", CallTimeout = TimeSpan.FromMilliseconds(300) });
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var error = Assert.ThrowsAsync<FirestoreSessionException>(async () => await backend.GetAsync("k", CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(Grpc.Core.StatusCode.DeadlineExceeded), error.Message);
        Assert.That(error.Message, Does.Contain("within 300 ms").And.Contain("Sessions:Firestore:CallTimeout"));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }
}
