using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Elasticsearch.Tests.Support;

namespace Sessions.Elasticsearch.Tests;

/// <summary>
/// Elasticsearch's documented error answers, fed through the client's in-memory transport, and a node that is not there
/// (a closed loopback port), mapped to the SPI's results and to exceptions that say what to set.
/// </summary>
[TestFixture]
public sealed class ErrorMappingTests
{
    private const string Index = "sessions";
    private const string Key = "s1";
    private static readonly DateTimeOffset s_now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void A_missing_index_says_to_create_it_or_set_CreateIndex()
    {
        var transport = new RecordedTransport(Responses.IndexNotFound(Index));

        var e = Assert.ThrowsAsync<ElasticsearchSessionException>(async () => await Backend(transport).GetAsync(Key, CancellationToken.None));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(e!.StatusCode, Is.EqualTo(404));
            Assert.That(e.ErrorType, Is.EqualTo("index_not_found_exception"));
            Assert.That(e.Message, Does.Contain("index 'sessions' does not exist at http://127.0.0.1:9200").And.Contain("Sessions:Elasticsearch:CreateIndex=true"));
        }
    }

    [Test]
    public void A_missing_index_at_start_up_fails_the_check_unless_creation_is_allowed()
    {
        var transport = new RecordedTransport(new CannedResponse(404, string.Empty));

        var e = Assert.ThrowsAsync<ElasticsearchSessionException>(() => Backend(transport).EnsureIndexAsync(CancellationToken.None));

        Assert.That(e!.Message, Does.Contain("Sessions:Elasticsearch:CreateIndex=true"));
        Assert.That(transport.Requests.Select(r => $"{r.Method} {r.Path}"), Is.EqualTo(new[] { "HEAD /sessions" }), "nothing created without CreateIndex");
    }

    [Test]
    public void Rejected_credentials_say_to_set_an_api_key_or_user_and_password()
    {
        var transport = new RecordedTransport(Responses.Unauthorized());

        var e = Assert.ThrowsAsync<ElasticsearchSessionException>(async () => await Backend(transport).SetAsync(Key, Record(), SetCondition.Always, CancellationToken.None));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(e!.StatusCode, Is.EqualTo(401));
            Assert.That(e.ErrorType, Is.EqualTo("security_exception"));
            Assert.That(e.Message, Does.Contain("rejected the credentials").And.Contain("Sessions:Elasticsearch:ApiKey").And.Contain("Username and Password"));
        }
    }

    [Test]
    public void Missing_privileges_say_which_to_grant()
    {
        var transport = new RecordedTransport(Responses.Forbidden());

        var e = Assert.ThrowsAsync<ElasticsearchSessionException>(async () => await Backend(transport).SetAsync(Key, Record(), SetCondition.Always, CancellationToken.None));

        Assert.That(e!.StatusCode, Is.EqualTo(403));
        Assert.That(e.Message, Does.Contain("read, write, delete and view_index_metadata privileges"));
    }

    [Test]
    public void A_413_is_the_cores_payload_too_large_error()
    {
        var transport = new RecordedTransport(Responses.TooLarge());

        var e = Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await Backend(transport).SetAsync(Key, Record(), SetCondition.Always, CancellationToken.None));

        Assert.That(e!.Message, Does.Contain("413").And.Contain("http.max_content_length").And.Contain("Sessions:MaxPayloadBytes"));
    }

    [Test]
    public void A_payload_over_the_limit_is_refused_before_any_request()
    {
        var transport = new RecordedTransport();
        var backend = Backend(transport);
        var record = new SessionRecord(new byte[backend.MaxPayloadBytes + 1], s_now.AddMinutes(1), 1);

        var e = Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await backend.SetAsync(Key, record, SetCondition.Always, CancellationToken.None));

        Assert.That(e!.MaxPayloadBytes, Is.EqualTo(64 * 1024 * 1024));
        Assert.That(transport.Requests, Is.Empty);
    }

    [Test]
    public void The_limit_leaves_room_for_base64_under_the_default_http_max_content_length()
    {
        var backend = Backend(new RecordedTransport());
        var base64Bytes = (backend.MaxPayloadBytes + 2) / 3 * 4;

        Assert.That(base64Bytes + 1024, Is.LessThan(100 * 1024 * 1024), "100mb is Elasticsearch's default http.max_content_length");
    }

    [Test]
    public async Task A_version_conflict_on_a_conditional_write_is_not_written_not_an_error()
    {
        var token = new ElasticsearchConcurrencyToken(1, 1, 5, s_now.AddMinutes(1).ToUnixTimeMilliseconds());
        var transport = new RecordedTransport(Responses.VersionConflict(Index, Key));

        Assert.That(await Backend(transport).SetAsync(Key, Record(), SetCondition.IfVersion(5, token), CancellationToken.None), Is.False);
    }

    [TestCase("""{"key":"s1","payload":5,"version":1,"expiresAt":1}""", TestName = "Payload that is not a string")]
    [TestCase("""{"key":"s1","payload":"%%%","version":1,"expiresAt":1}""", TestName = "Payload that is not base64")]
    [TestCase("""{"key":"s1","payload":"AA==","expiresAt":1}""", TestName = "Missing version")]
    [TestCase("""{"key":"s1","payload":"AA==","version":1.5,"expiresAt":1}""", TestName = "Fractional version")]
    [TestCase("""{"key":"s1","payload":"AA==","version":1,"expiresAt":"tomorrow"}""", TestName = "Expiry that is not epoch milliseconds")]
    [TestCase("""{"key":"s1"}""", TestName = "Only the key")]
    [TestCase("\"text\"", TestName = "Source that is not an object")]
    public void A_document_that_is_not_a_session_record_is_reported_corrupt(string source)
    {
        var transport = new RecordedTransport(Responses.Found(Index, Key, source));

        var e = Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await Backend(transport).GetAsync(Key, CancellationToken.None));

        Assert.That(e!.Key, Is.EqualTo(Key));
    }

    [Test]
    public async Task A_node_that_is_not_there_says_to_check_the_url()
    {
        var port = ClosedLoopbackPort();
        await using var backend = new ElasticsearchSessionBackend(
            new ElasticsearchSessionBackendOptions { Url = $"http://127.0.0.1:{port}", RequestTimeout = TimeSpan.FromSeconds(5) }, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(s_now));

        var e = Assert.ThrowsAsync<ElasticsearchSessionException>(async () => await backend.GetAsync(Key, CancellationToken.None));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(e!.StatusCode, Is.Null, "no answer came");
            Assert.That(e.Message, Does.Contain($"Could not reach Elasticsearch at http://127.0.0.1:{port}").And.Contain("Sessions:Elasticsearch:Url"));
        }
    }

    [Test]
    public async Task The_health_probe_checks_that_the_index_exists()
    {
        var ok = new RecordedTransport(new CannedResponse(200, string.Empty));
        await Backend(ok).ProbeAsync(CancellationToken.None);
        Assert.That(ok.Requests.Single().ToString(), Does.StartWith("HEAD /sessions"));

        var missing = new RecordedTransport(new CannedResponse(404, string.Empty));
        Assert.ThrowsAsync<ElasticsearchSessionException>(async () => await Backend(missing).ProbeAsync(CancellationToken.None));
    }

    [Test]
    public async Task Calls_after_disposal_throw_without_a_request()
    {
        var transport = new RecordedTransport();
        var backend = Backend(transport);
        await backend.DisposeAsync();

        Assert.ThrowsAsync<ObjectDisposedException>(async () => await backend.GetAsync(Key, CancellationToken.None));
        Assert.That(transport.Requests, Is.Empty);
    }

    private static ElasticsearchSessionBackend Backend(RecordedTransport transport) =>
        new(transport.Client, new ElasticsearchSessionBackendOptions { Index = Index }, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(s_now));

    private static SessionRecord Record() => new(new byte[] { 1, 2, 3 }, s_now.AddMinutes(1), 6);

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
