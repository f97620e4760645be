using Amazon.DynamoDBv2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.DynamoDb.Tests.Support;

namespace Sessions.DynamoDb.Tests;

/// <summary><c>AddDynamoDbBackend</c>: which client it uses, what it checks at start-up, and what it disposes.</summary>
[TestFixture]
public sealed class RegistrationTests
{
    private readonly Conformance.DynamoDbFixtureTable _table = new("di");

    [OneTimeSetUp]
    public Task CreateTableAsync() => _table.CreateAsync();

    [OneTimeTearDown]
    public Task DeleteTableAsync() => _table.DeleteAsync();

    [Test]
    public async Task Without_a_registered_client_the_backend_builds_one_from_ServiceUrl_and_disposes_it()
    {
        var url = await Dynalite.ServiceUrlAsync();
        DynamoDbSessionBackend backend;
        await using (var app = await StartAsync(s => s.AddSessions().AddDynamoDbBackend(o => { o.ServiceUrl = url; o.Table = _table.Name; })))
        {
            backend = (DynamoDbSessionBackend)app.Services.GetRequiredService<ISessionBackend>();
            Assert.That((backend.Endpoint, backend.Table), Is.EqualTo((url, _table.Name)));
            Assert.That(app.Services.GetRequiredService<SessionBackendRegistration>().Name, Is.EqualTo("dynamodb"));
            Assert.That(await backend.SetAsync("di:own", new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, CancellationToken.None), Is.True);
        }

        Assert.That(async () => await backend.GetAsync("di:own", CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>(), "the container disposed the backend");
    }

    [Test]
    public async Task A_registered_IAmazonDynamoDB_is_used_and_left_to_its_owner()
    {
        var client = await Dynalite.ClientAsync();
        await using (var app = await StartAsync(s =>
        {
            s.AddSingleton<IAmazonDynamoDB>(client); // an instance: the container does not dispose it
            s.AddSessions().AddDynamoDbBackend(o => { o.Table = _table.Name; o.ServiceUrl = "http://127.0.0.1:1"; });
        }))
        {
            var backend = (DynamoDbSessionBackend)app.Services.GetRequiredService<ISessionBackend>();
            Assert.That(backend.Endpoint, Is.EqualTo(await Dynalite.ServiceUrlAsync()), "the registered client's endpoint wins over ServiceUrl");
            Assert.That(await backend.SetAsync("di:borrowed", new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, CancellationToken.None), Is.True);
            await backend.DisposeAsync();
        }

        // The backend never disposes a client it did not build (the container disposes its own registrations).
        Assert.That(await client.DescribeTableAsync(_table.Name), Is.Not.Null, "the shared client still works");
    }

    [Test]
    public async Task Start_up_fails_with_the_missing_table_message()
    {
        var url = await Dynalite.ServiceUrlAsync();
        var missing = Dynalite.NewTableName("absent");

        var error = Assert.ThrowsAsync<DynamoDbSessionException>(async () =>
        {
            await using var app = await StartAsync(s => s.AddSessions().AddDynamoDbBackend(o => { o.ServiceUrl = url; o.Table = missing; }));
        });

        Assert.That(error!.Message, Is.EqualTo($"DynamoDB table '{missing}' does not exist at {url}; create it (partition key 'pk', type String, no sort key) or set Sessions:DynamoDb:CreateTable=true."));
    }

    [Test]
    public async Task Start_up_creates_the_table_when_CreateTable_is_set()
    {
        var url = await Dynalite.ServiceUrlAsync();
        var table = Dynalite.NewTableName("startup");
        try
        {
            await using var app = await StartAsync(s => s.AddSessions().AddDynamoDbBackend(o => { o.ServiceUrl = url; o.Table = table; o.CreateTable = true; }));

            Assert.That(await (await Dynalite.ClientAsync()).DescribeTableAsync(table), Is.Not.Null, "the table after start-up");
        }
        finally
        {
            await Dynalite.DeleteTableAsync(table);
        }
    }

    [Test]
    public void Start_up_fails_on_invalid_options_with_the_setting_named()
    {
        var error = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = await StartAsync(s => s.AddSessions().AddDynamoDbBackend(o => o.ServiceUrl = "localhost:8000"));
        });

        Assert.That(error!.Message, Does.Contain("Sessions:DynamoDb:ServiceUrl"));
    }

    private static async Task<WebApplication> StartAsync(Action<IServiceCollection> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        configure(builder.Services);
        var app = builder.Build();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }
}
