using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Elasticsearch.Tests.Support;

namespace Sessions.Elasticsearch.Tests;

/// <summary><c>AddElasticsearchBackend</c>: binding from <c>Sessions:Elasticsearch</c>, validation, the client it uses, and selection.</summary>
[TestFixture]
public sealed class RegistrationTests
{
    [Test]
    public void Options_bind_from_the_Sessions_Elasticsearch_section()
    {
        using var services = Build(new()
        {
            ["Sessions:Elasticsearch:Url"] = "https://es.example.com:9243",
            ["Sessions:Elasticsearch:Index"] = "app-sessions",
            ["Sessions:Elasticsearch:ApiKey"] = "a2V5OnNlY3JldA==",
            ["Sessions:Elasticsearch:CreateIndex"] = "true",
            ["Sessions:Elasticsearch:BatchSize"] = "250",
            ["Sessions:Elasticsearch:RequestTimeout"] = "00:00:03",
        });

        var options = services.GetRequiredService<IOptions<ElasticsearchSessionBackendOptions>>().Value;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.Url, Is.EqualTo("https://es.example.com:9243"));
            Assert.That(options.Index, Is.EqualTo("app-sessions"));
            Assert.That(options.ApiKey, Is.EqualTo("a2V5OnNlY3JldA=="));
            Assert.That(options.CreateIndex, Is.True);
            Assert.That(options.BatchSize, Is.EqualTo(250));
            Assert.That(options.RequestTimeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(services.GetRequiredService<SessionBackendSelection>().Name, Is.EqualTo("elasticsearch"));
            Assert.That(Backend(services).Index, Is.EqualTo("app-sessions"));
        }
    }

    [Test]
    public void Code_runs_after_binding()
    {
        using var services = Build(new() { ["Sessions:Elasticsearch:Url"] = "http://127.0.0.1:9200", ["Sessions:Elasticsearch:Index"] = "from-config" }, o => o.Index = "from-code");

        Assert.That(services.GetRequiredService<IOptions<ElasticsearchSessionBackendOptions>>().Value.Index, Is.EqualTo("from-code"));
    }

    [Test]
    public void Without_a_url_or_a_registered_client_the_backend_fails_with_what_to_set()
    {
        using var services = Build([]);

        var e = Assert.Throws<OptionsValidationException>(() => Backend(services));

        Assert.That(e!.Message, Does.Contain("Sessions:Elasticsearch:Url is not set and no ElasticsearchClient is registered"));
    }

    [Test]
    public async Task Without_a_url_the_client_registered_in_the_container_is_used()
    {
        var transport = new RecordedTransport(Responses.NotFound("sessions", "k"));
        using var services = Build([], configureServices: s => s.AddSingleton(transport.Client));

        await Backend(services).GetAsync("k", CancellationToken.None);

        Assert.That(transport.Requests, Has.Count.EqualTo(1), "the request went through the registered client");
    }

    [Test]
    public async Task A_client_handed_over_is_used_and_needs_no_url()
    {
        var transport = new RecordedTransport(Responses.NotFound("sessions", "k"));
        var collection = new ServiceCollection();
        collection.AddSessions().AddElasticsearchBackend(transport.Client);
        await using var services = collection.BuildServiceProvider();

        await Backend(services).GetAsync("k", CancellationToken.None);

        Assert.That(transport.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_registered_but_unselected_backend_with_bad_options_does_not_stop_the_app()
    {
        using var host = new HostBuilder().ConfigureServices(s =>
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Sessions:Backend"] = "memory",
                ["Sessions:Elasticsearch:Url"] = "not a url",
            }).Build();
            s.AddSessions(configuration.GetSection("Sessions")).AddMemoryBackend().AddElasticsearchBackend();
        }).Build();

        await host.StartAsync();
        Assert.That(host.Services.GetRequiredService<SessionBackendSelection>().Name, Is.EqualTo("memory"));
        await host.StopAsync();
    }

    [TestCase("Url", "ftp://x", "absolute http or https URL")]
    [TestCase("Index", "Sessions", "must be an Elasticsearch index name")]
    [TestCase("Index", "_sessions", "must be an Elasticsearch index name")]
    [TestCase("Index", "a*b", "must be an Elasticsearch index name")]
    [TestCase("BatchSize", "0", "BatchSize must be between 1 and 10000")]
    [TestCase("BatchSize", "10001", "BatchSize must be between 1 and 10000")]
    [TestCase("RequestTimeout", "00:00:00", "RequestTimeout must be more than zero")]
    [TestCase("Username", "elastic", "Username and Sessions:Elasticsearch:Password go together")]
    [TestCase("ApiKey", "k", "either Sessions:Elasticsearch:ApiKey or")]
    public void Bad_settings_fail_with_a_message_naming_the_setting(string setting, string value, string message)
    {
        var values = new Dictionary<string, string?> { ["Sessions:Elasticsearch:Url"] = "http://127.0.0.1:9200", [$"Sessions:Elasticsearch:{setting}"] = value };
        if (setting == "ApiKey")
        {
            values["Sessions:Elasticsearch:Username"] = "elastic";
            values["Sessions:Elasticsearch:Password"] = "secret";
        }

        using var services = Build(values);

        var e = Assert.Throws<OptionsValidationException>(() => Backend(services));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [Test]
    public void Valid_options_have_no_errors()
    {
        Assert.That(new ElasticsearchSessionBackendOptions { Url = "http://127.0.0.1:9200", Username = "elastic", Password = "x" }.Validate(clientSupplied: false), Is.Empty);
        Assert.That(new ElasticsearchSessionBackendOptions().Validate(clientSupplied: true), Is.Empty, "defaults with a client");
    }

    [Test]
    public void Constructing_a_backend_with_bad_options_throws_ArgumentException()
    {
        Assert.Throws<ArgumentException>(() => _ = new ElasticsearchSessionBackend(new ElasticsearchSessionBackendOptions()));
    }

    // The container hands out the backend in force as ISessionBackend (the one registration helper registers no concrete type).
    private static ElasticsearchSessionBackend Backend(IServiceProvider services) => (ElasticsearchSessionBackend)services.GetRequiredService<ISessionBackend>();

    private static ServiceProvider Build(Dictionary<string, string?> values, Action<ElasticsearchSessionBackendOptions>? configure = null, Action<IServiceCollection>? configureServices = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var collection = new ServiceCollection();
        configureServices?.Invoke(collection);
        collection.AddSessions(configuration.GetSection("Sessions")).AddElasticsearchBackend(configure);
        return collection.BuildServiceProvider();
    }
}

/// <summary>The client the backend builds for itself from the options.</summary>
[TestFixture]
public sealed class OwnClientSettingsTests
{
    [Test]
    public void An_api_key_is_sent_as_the_ApiKey_scheme()
    {
        var settings = (Elastic.Transport.ITransportConfiguration)ElasticsearchSessionBackend.Settings(
            new ElasticsearchSessionBackendOptions { Url = "https://es.example.com:9243", ApiKey = "a2V5OnNlY3JldA==", RequestTimeout = TimeSpan.FromSeconds(3) });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(settings.Authentication?.AuthScheme, Is.EqualTo("ApiKey"));
            Assert.That(settings.Authentication!.TryGetAuthorizationParameters(out var value), Is.True);
            Assert.That(value, Is.EqualTo("a2V5OnNlY3JldA=="));
            Assert.That(settings.RequestTimeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(settings.NodePool.Nodes.Single().Uri, Is.EqualTo(new Uri("https://es.example.com:9243")));
        }
    }

    [Test]
    public void A_user_and_password_are_sent_as_basic_authentication()
    {
        var settings = (Elastic.Transport.ITransportConfiguration)ElasticsearchSessionBackend.Settings(
            new ElasticsearchSessionBackendOptions { Url = "http://127.0.0.1:9200", Username = "elastic", Password = "pa:ss" });

        Assert.That(settings.Authentication?.AuthScheme, Is.EqualTo("Basic"));
        Assert.That(settings.Authentication!.TryGetAuthorizationParameters(out var value), Is.True);
        Assert.That(System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(value)), Is.EqualTo("elastic:pa:ss"));
    }

    [Test]
    public void Without_credentials_no_authorization_is_sent()
    {
        var settings = (Elastic.Transport.ITransportConfiguration)ElasticsearchSessionBackend.Settings(new ElasticsearchSessionBackendOptions { Url = "http://127.0.0.1:9200" });

        Assert.That(settings.Authentication, Is.Null);
    }
}
