using System.Net;
using System.Net.Sockets;
using System.Reflection;
using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Clusters;
using MongoDB.Driver.Core.Connections;
using MongoDB.Driver.Core.Servers;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Mongo.Tests;

/// <summary>
/// The driver's exceptions for MongoDB's documented error replies (duplicate key 11000, Unauthorized 13, AuthenticationFailed
/// 18, BSONObjectTooLarge 10334), and a server that is not there (a closed loopback port), mapped to the SPI's results and to
/// exceptions that say what to set.
/// </summary>
[TestFixture]
public sealed class ErrorMappingTests
{
    private static readonly ConnectionId s_connection = new(new ServerId(new ClusterId(1), new DnsEndPoint("127.0.0.1", 27017)));
    private readonly MongoErrors _errors = new("127.0.0.1:27017", "app", "sessions");

    [Test]
    public void A_duplicate_key_write_error_means_a_live_document_holds_the_key()
    {
        // The write error an update command reports when an upsert collides on _id (writeErrors[0] of the reply).
        var writeError = NewWriteError(ServerErrorCategory.DuplicateKey, 11000, "E11000 duplicate key error collection: app.sessions index: _id_ dup key: { _id: \"k\" }");
        var exception = new MongoWriteException(s_connection, writeError, null, null);

        Assert.That(MongoErrors.IsDuplicateKey(exception), Is.True);
    }

    [Test]
    public void A_duplicate_key_command_error_is_recognised_too()
    {
        var reply = BsonDocument.Parse("""{ "ok": 0, "errmsg": "E11000 duplicate key error collection: app.sessions index: _id_ dup key: { _id: \"k\" }", "code": 11000, "codeName": "DuplicateKey" }""");

        Assert.That(MongoErrors.IsDuplicateKey(new MongoCommandException(s_connection, "Command update failed", new BsonDocument("update", "sessions"), reply)), Is.True);
    }

    [Test]
    public void Other_write_errors_are_not_duplicate_keys()
    {
        var writeError = NewWriteError(ServerErrorCategory.Uncategorized, 121, "Document failed validation");

        Assert.That(MongoErrors.IsDuplicateKey(new MongoWriteException(s_connection, writeError, null, null)), Is.False);
    }

    [Test]
    public void Unauthorized_says_to_grant_readWrite()
    {
        var reply = BsonDocument.Parse("""{ "ok": 0, "errmsg": "not authorized on app to execute command { find: \"sessions\" }", "code": 13, "codeName": "Unauthorized" }""");

        var e = _errors.Translate(new MongoCommandException(s_connection, "Command find failed", new BsonDocument("find", "sessions"), reply), "read (find)");

        Assert.That(e, Is.InstanceOf<MongoSessionException>());
        Assert.That(((MongoSessionException)e).ErrorCode, Is.EqualTo(13));
        Assert.That(e.Message, Does.Contain("readWrite role").And.Contain("Sessions:Mongo:ConnectionString").And.Contain("app.sessions"));
    }

    [Test]
    public void Authentication_failure_says_to_set_the_credentials_in_the_connection_string()
    {
        var e = _errors.Translate(new MongoAuthenticationException(s_connection, "Unable to authenticate using sasl protocol mechanism SCRAM-SHA-256."), "read (find)");

        Assert.That(e.Message, Does.Contain("refused the credentials").And.Contain("authSource").And.Contain("Sessions:Mongo:ConnectionString"));
    }

    [Test]
    public void An_oversized_document_is_the_cores_payload_too_large_error()
    {
        var reply = BsonDocument.Parse("""{ "ok": 0, "errmsg": "BSONObj size: 16793600 (0x1004000) is invalid. Size must be between 0 and 16793600(16MB)", "code": 10334, "codeName": "BSONObjectTooLarge" }""");

        var e = _errors.Translate(new MongoCommandException(s_connection, "Command update failed", new BsonDocument("update", "sessions"), reply), "write (replace)", payloadBytes: 16_800_000);

        Assert.That(e, Is.InstanceOf<SessionPayloadTooLargeException>());
        Assert.That(((SessionPayloadTooLargeException)e).PayloadBytes, Is.EqualTo(16_800_000));
        Assert.That(e.Message, Does.Contain("16 MiB").And.Contain("Sessions:MaxPayloadBytes"));
    }

    [Test]
    public async Task A_payload_over_the_limit_is_refused_before_any_command()
    {
        using var client = new MongoClient($"mongodb://127.0.0.1:{ClosedLoopbackPort()}/?serverSelectionTimeoutMS=100");
        await using var backend = new MongoSessionBackend(client, new MongoSessionBackendOptions { Database = "app" });
        var record = new SessionRecord(new byte[backend.MaxPayloadBytes + 1], DateTimeOffset.UtcNow.AddMinutes(1), 1);

        var e = Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await backend.SetAsync("k", record, SetCondition.Always, CancellationToken.None));

        Assert.That(e!.MaxPayloadBytes, Is.EqualTo(16 * 1024 * 1024 - 1024));
    }

    [Test]
    public async Task A_server_that_is_not_there_says_to_check_the_connection_string()
    {
        var port = ClosedLoopbackPort();
        await using var backend = new MongoSessionBackend(
            new MongoSessionBackendOptions { ConnectionString = $"mongodb://127.0.0.1:{port}/app?serverSelectionTimeoutMS=300&connectTimeoutMS=300" });

        var e = Assert.ThrowsAsync<MongoSessionException>(async () => await backend.GetAsync("k", CancellationToken.None));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(e!.Servers, Is.EqualTo($"127.0.0.1:{port}"));
            Assert.That(e.Message, Does.Contain("could be selected").And.Contain("Sessions:Mongo:ConnectionString").And.Contain("serverSelectionTimeoutMS"));
            Assert.That(e.InnerException, Is.InstanceOf<TimeoutException>());
        }
    }

    [Test]
    public async Task The_health_probe_fails_the_same_way_when_the_server_is_not_there()
    {
        await using var backend = new MongoSessionBackend(
            new MongoSessionBackendOptions { ConnectionString = $"mongodb://127.0.0.1:{ClosedLoopbackPort()}/app?serverSelectionTimeoutMS=300" });

        var e = Assert.ThrowsAsync<MongoSessionException>(async () => await backend.ProbeAsync(CancellationToken.None));

        Assert.That(e!.Message, Does.Contain("health probe (ping)"));
    }

    [Test]
    public void Unacknowledged_writes_are_refused_because_conditions_could_not_be_reported()
    {
        using var client = new MongoClient("mongodb://127.0.0.1:1/?w=0&serverSelectionTimeoutMS=100");

        var e = Assert.Throws<ArgumentException>(() => _ = new MongoSessionBackend(client, new MongoSessionBackendOptions { Database = "app" }));

        Assert.That(e!.Message, Does.Contain("acknowledged writes").And.Contain("w=0"));
    }

    [Test]
    public async Task Calls_after_disposal_throw_ObjectDisposedException()
    {
        var backend = new MongoSessionBackend(new MongoSessionBackendOptions { ConnectionString = "mongodb://127.0.0.1:1/app" });
        await backend.DisposeAsync();
        await backend.DisposeAsync();

        Assert.ThrowsAsync<ObjectDisposedException>(async () => await backend.GetAsync("k", CancellationToken.None));
    }

    [Test]
    public async Task A_client_handed_over_is_not_disposed_with_the_backend()
    {
        using var client = new MongoClient("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100");
        await new MongoSessionBackend(client, new MongoSessionBackendOptions { Database = "app" }).DisposeAsync();

        Assert.DoesNotThrow(() => client.GetDatabase("app").GetCollection<BsonDocument>("sessions"), "the client is still usable");
    }

    // WriteError's constructor is internal to the driver, which builds it from the writeErrors entries of a reply; the test
    // builds it the same way from the documented fields.
    private static WriteError NewWriteError(ServerErrorCategory category, int code, string message) =>
        (WriteError)typeof(WriteError)
            .GetConstructors(BindingFlags.Instance | BindingFlags.NonPublic)
            .Single(c => c.GetParameters().Length == 4)
            .Invoke([category, code, message, new BsonDocument()]);

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
