using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.DynamoDb.Tests.Support;

namespace Sessions.DynamoDb.Tests;

/// <summary>Failures become a <see cref="DynamoDbSessionException"/> that says what happened and what to do; conditions that do not hold are a clean false.</summary>
[TestFixture]
public sealed class ErrorTests
{
    private static SessionRecord Record(int payloadBytes = 3) => new(new byte[payloadBytes], DateTimeOffset.UtcNow.AddHours(1), 1);

    [Test]
    public async Task Throttling_is_retried_by_the_SDK_then_reported_as_throttling()
    {
        await using var endpoint = FakeDynamoDbEndpoint.Throttling();
        await using var backend = new DynamoDbSessionBackend(new DynamoDbSessionBackendOptions { ServiceUrl = endpoint.ServiceUrl, Table = "sessions", MaxRetries = 2 });

        var error = Assert.ThrowsAsync<DynamoDbSessionException>(async () => await backend.GetAsync("k", CancellationToken.None));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error!.IsThrottling, Is.True, error.Message);
            Assert.That(error.ErrorCode, Is.EqualTo("ProvisionedThroughputExceededException"));
            Assert.That(error.Message, Does.Contain($"DynamoDB at {endpoint.ServiceUrl} throttled").And.Contain("on-demand billing"));
            Assert.That(endpoint.Requests, Is.EqualTo(3), "requests: the first and MaxRetries = 2 retries");
        }
    }

    [Test]
    public async Task A_server_error_is_reported_with_its_code_and_status_after_the_retries()
    {
        await using var endpoint = FakeDynamoDbEndpoint.InternalError();
        await using var backend = new DynamoDbSessionBackend(new DynamoDbSessionBackendOptions { ServiceUrl = endpoint.ServiceUrl, Table = "sessions", MaxRetries = 1 });

        var error = Assert.ThrowsAsync<DynamoDbSessionException>(async () => await backend.SetAsync("k", Record(), SetCondition.Always, CancellationToken.None));

        Assert.That(error!.Message, Does.Contain("InternalServerError").And.Contain("HTTP 500").And.Contain("table 'sessions'"));
        Assert.That(endpoint.Requests, Is.EqualTo(2), "requests: the first and MaxRetries = 1 retry");
    }

    [Test]
    public async Task An_unreachable_endpoint_is_reported_with_its_address_promptly()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var url = $"http://127.0.0.1:{port}";
        await using var backend = new DynamoDbSessionBackend(new DynamoDbSessionBackendOptions { ServiceUrl = url, MaxRetries = 1 });
        var watch = Stopwatch.StartNew();

        var error = Assert.ThrowsAsync<DynamoDbSessionException>(async () => await backend.GetAsync("k", CancellationToken.None));

        Assert.That(error!.Message, Does.StartWith($"Could not reach DynamoDB at {url}").And.Contain("Sessions:DynamoDb:ServiceUrl"));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "a refused connection must not hang");
    }

    [Test]
    public async Task A_record_too_large_for_one_item_is_refused_before_any_request_with_a_clear_message()
    {
        var table = await Dynalite.NewSessionsTableAsync("large");
        try
        {
            await using var backend = new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table });

            var error = Assert.ThrowsAsync<DynamoDbSessionException>(async () => await backend.SetAsync("big", Record(401 * 1024), SetCondition.Always, CancellationToken.None));

            Assert.That(error!.Message, Does.Contain("does not fit in one DynamoDB item (limit 400 KB").And.Contain("Sessions:MaxPayloadBytes"));
            Assert.That(await backend.GetAsync("big", CancellationToken.None), Is.Null, "nothing was written");
        }
        finally
        {
            await Dynalite.DeleteTableAsync(table);
        }
    }

    [Test]
    public async Task The_largest_payload_that_fits_round_trips()
    {
        var table = await Dynalite.NewSessionsTableAsync("fits");
        try
        {
            await using var backend = new DynamoDbSessionBackend(await Dynalite.ClientAsync(), new DynamoDbSessionBackendOptions { Table = table });
            var key = new string('k', SessionKeys.MaxKeyLength);
            var record = new SessionRecord(Enumerable.Range(0, SessionItem.MaxPayloadBytes(key.Length)).Select(i => (byte)i).ToArray(), DateTimeOffset.UtcNow.AddHours(1), long.MaxValue);

            Assert.That(await backend.SetAsync(key, record, SetCondition.Always, CancellationToken.None), Is.True);

            Assert.That((await backend.GetAsync(key, CancellationToken.None))?.Payload.ToArray(), Is.EqualTo(record.Payload.ToArray()));
        }
        finally
        {
            await Dynalite.DeleteTableAsync(table);
        }
    }

    [Test]
    public void Invalid_options_are_refused_with_messages_that_name_the_setting()
    {
        var options = new DynamoDbSessionBackendOptions { Table = "x", ServiceUrl = "127.0.0.1:8000", RequestTimeout = TimeSpan.Zero, MaxRetries = -1 };

        var errors = options.Validate();

        Assert.That(errors, Has.Some.Contains("Sessions:DynamoDb:Table")
            .And.Some.Contains("Sessions:DynamoDb:ServiceUrl")
            .And.Some.Contains("Sessions:DynamoDb:RequestTimeout")
            .And.Some.Contains("Sessions:DynamoDb:MaxRetries"));
        Assert.That(() => new DynamoDbSessionBackend(options), Throws.ArgumentException.With.Message.Contains("Sessions:DynamoDb:ServiceUrl"));
    }
}
