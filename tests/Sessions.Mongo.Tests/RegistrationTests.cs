using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MongoDB.Driver;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Mongo.Tests;

/// <summary><c>AddMongoBackend</c>: binding from <c>Sessions:Mongo</c>, validation, the client it uses, and selection.</summary>
[TestFixture]
public sealed class RegistrationTests
{
    [Test]
    public void Options_bind_from_the_Sessions_Mongo_section()
    {
        using var services = Build(new()
        {
            ["Sessions:Mongo:ConnectionString"] = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100",
            ["Sessions:Mongo:Database"] = "app",
            ["Sessions:Mongo:Collection"] = "web_sessions",
            ["Sessions:Mongo:CreateIndexes"] = "true",
            ["Sessions:Mongo:BatchSize"] = "250",
        });

        var options = services.GetRequiredService<IOptions<MongoSessionBackendOptions>>().Value;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.ConnectionString, Is.EqualTo("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100"));
            Assert.That(options.Database, Is.EqualTo("app"));
            Assert.That(options.Collection, Is.EqualTo("web_sessions"));
            Assert.That(options.CreateIndexes, Is.True);
            Assert.That(options.BatchSize, Is.EqualTo(250));
            Assert.That(services.GetRequiredService<SessionBackendSelection>().Name, Is.EqualTo("mongo"));
            Assert.That(Backend(services).Collection.CollectionNamespace.FullName, Is.EqualTo("app.web_sessions"));
        }
    }

    [Test]
    public void The_database_may_come_from_the_connection_string()
    {
        using var services = Build(new() { ["Sessions:Mongo:ConnectionString"] = "mongodb://127.0.0.1:1/fromuri" });

        Assert.That(Backend(services).Collection.CollectionNamespace.FullName, Is.EqualTo("fromuri.sessions"));
    }

    [Test]
    public void Code_runs_after_binding()
    {
        using var services = Build(new() { ["Sessions:Mongo:ConnectionString"] = "mongodb://127.0.0.1:1/app", ["Sessions:Mongo:Collection"] = "from_config" }, o => o.Collection = "from_code");

        Assert.That(Backend(services).Collection.CollectionNamespace.CollectionName, Is.EqualTo("from_code"));
    }

    [Test]
    public void Without_a_connection_string_or_a_registered_client_the_backend_fails_with_what_to_set()
    {
        using var services = Build(new() { ["Sessions:Mongo:Database"] = "app" });

        var e = Assert.Throws<OptionsValidationException>(() => Backend(services));

        Assert.That(e!.Message, Does.Contain("Sessions:Mongo:ConnectionString is not set and no IMongoClient is registered"));
    }

    [Test]
    public void Without_a_connection_string_the_client_registered_in_the_container_is_used_and_not_disposed()
    {
        using var client = new MongoClient("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100");
        var services = Build(new() { ["Sessions:Mongo:Database"] = "app" }, configureServices: s => s.AddSingleton<IMongoClient>(client));

        var backend = Backend(services);
        Assert.That(backend.Collection.Database.Client, Is.SameAs(client));

        services.Dispose();
        Assert.DoesNotThrow(() => client.GetDatabase("app"), "the container's client outlives the backend");
    }

    [Test]
    public void A_database_handed_over_needs_neither_connection_string_nor_database_name()
    {
        using var client = new MongoClient("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100");
        var collection = new ServiceCollection();
        collection.AddSessions().AddMongoBackend(client.GetDatabase("given"));
        using var services = collection.BuildServiceProvider();

        Assert.That(Backend(services).Collection.CollectionNamespace.FullName, Is.EqualTo("given.sessions"));
    }

    [Test]
    public void A_client_handed_over_still_needs_a_database_name()
    {
        using var client = new MongoClient("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100");
        var collection = new ServiceCollection();
        collection.AddSessions().AddMongoBackend(client);
        using var services = collection.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => Backend(services));
        Assert.That(e!.Message, Does.Contain("Sessions:Mongo:Database is not set"));
    }

    [Test]
    public async Task A_registered_but_unselected_backend_with_bad_options_does_not_stop_the_app()
    {
        using var host = new HostBuilder().ConfigureServices(s =>
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Sessions:Backend"] = "memory",
                ["Sessions:Mongo:ConnectionString"] = "not a connection string",
                ["Sessions:Mongo:CreateIndexes"] = "true",
            }).Build();
            s.AddSessions(configuration.GetSection("Sessions")).AddMemoryBackend().AddMongoBackend();
        }).Build();

        await host.StartAsync();
        Assert.That(host.Services.GetRequiredService<SessionBackendSelection>().Name, Is.EqualTo("memory"));
        await host.StopAsync();
    }

    [TestCase("ConnectionString", "http://127.0.0.1", "is not a MongoDB connection string")]
    [TestCase("Database", "a.b", "must be a MongoDB database name")]
    [TestCase("Database", "a b", "must be a MongoDB database name")]
    [TestCase("Collection", "system.sessions", "must be a MongoDB collection name")]
    [TestCase("Collection", "a$b", "must be a MongoDB collection name")]
    [TestCase("BatchSize", "0", "BatchSize must be between 1 and 100000")]
    public void Bad_settings_fail_with_a_message_naming_the_setting(string setting, string value, string message)
    {
        using var services = Build(new()
        {
            ["Sessions:Mongo:ConnectionString"] = "mongodb://127.0.0.1:1/app",
            [$"Sessions:Mongo:{setting}"] = value,
        });

        var e = Assert.Throws<OptionsValidationException>(() => Backend(services));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [Test]
    public void Constructing_a_backend_with_bad_options_throws_ArgumentException()
    {
        Assert.Throws<ArgumentException>(() => _ = new MongoSessionBackend(new MongoSessionBackendOptions()));
    }

    // The container hands out the backend in force as ISessionBackend (the one registration helper registers no concrete type).
    private static MongoSessionBackend Backend(IServiceProvider services) => (MongoSessionBackend)services.GetRequiredService<ISessionBackend>();

    private static ServiceProvider Build(Dictionary<string, string?> values, Action<MongoSessionBackendOptions>? configure = null, Action<IServiceCollection>? configureServices = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var collection = new ServiceCollection();
        configureServices?.Invoke(collection);
        collection.AddSessions(configuration.GetSection("Sessions")).AddMongoBackend(configure);
        return collection.BuildServiceProvider();
    }
}
