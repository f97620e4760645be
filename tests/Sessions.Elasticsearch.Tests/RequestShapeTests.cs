using System.Text.Json.Nodes;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Elasticsearch.Tests.Support;

namespace Sessions.Elasticsearch.Tests;

/// <summary>
/// What each operation sends, as the client serializes it, against canned documented responses on the client's in-memory
/// transport: method, path, the precondition parameters (<c>op_type</c>, <c>if_seq_no</c>, <c>if_primary_term</c>) and body.
/// </summary>
[TestFixture]
public sealed class RequestShapeTests
{
    private const string Index = "sessions";
    private const string Key = "s1";
    private static readonly DateTimeOffset s_now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly long s_nowMs = s_now.ToUnixTimeMilliseconds();

    [Test]
    public async Task Get_is_a_real_time_get_by_id_and_returns_the_record_with_its_sequence_number_as_token()
    {
        var transport = new RecordedTransport(Responses.Found(Index, Key, Source(version: 5, expiresAtMs: s_nowMs + 60_000, payload: "AAEC"), seqNo: 7, primaryTerm: 2));
        var record = await Backend(transport).GetAsync(Key, CancellationToken.None);

        var request = transport.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(request.Method, Is.EqualTo("GET"));
            Assert.That(request.Path, Is.EqualTo("/sessions/_doc/s1"));
            Assert.That(request.Query, Is.Empty, "no refresh, no realtime=false: GET by ID is real-time");
            Assert.That(record, Is.Not.Null);
            Assert.That(record!.Version, Is.EqualTo(5));
            Assert.That(record.Payload.ToArray(), Is.EqualTo(new byte[] { 0, 1, 2 }));
            Assert.That(record.ExpiresAt, Is.EqualTo(s_now.AddMinutes(1)));
            Assert.That(record.ConcurrencyToken, Is.EqualTo(new ElasticsearchConcurrencyToken(7, 2, 5, s_nowMs + 60_000)));
        }
    }

    [TestCase("kit:a/b?c#d%e+f&g=h")]
    [TestCase("kit:[x]{y}|z\\^`")]
    public async Task Keys_are_escaped_as_one_path_segment(string key)
    {
        var transport = new RecordedTransport(Responses.NotFound(Index, key));
        await Backend(transport).GetAsync(key, CancellationToken.None);

        var request = transport.Requests.Single();
        Assert.That(request.Uri.AbsolutePath, Is.EqualTo("/sessions/_doc/" + Uri.EscapeDataString(key)));
        Assert.That(Uri.UnescapeDataString(request.Uri.AbsolutePath["/sessions/_doc/".Length..]), Is.EqualTo(key));
    }

    [Test]
    public async Task Get_of_an_expired_document_returns_null()
    {
        var transport = new RecordedTransport(Responses.Found(Index, Key, Source(version: 1, expiresAtMs: s_nowMs)));

        Assert.That(await Backend(transport).GetAsync(Key, CancellationToken.None), Is.Null, "expiresAt == now is expired");
    }

    [Test]
    public async Task Get_of_a_missing_document_returns_null()
    {
        var transport = new RecordedTransport(Responses.NotFound(Index, Key));

        Assert.That(await Backend(transport).GetAsync(Key, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Set_always_indexes_the_document_without_a_precondition()
    {
        var transport = new RecordedTransport(Responses.Written(Index, Key, "updated"));
        var written = await Backend(transport).SetAsync(Key, Record(version: long.MaxValue), SetCondition.Always, CancellationToken.None);

        var request = transport.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Is.True);
            Assert.That(request.Method, Is.EqualTo("PUT"));
            Assert.That(request.Path, Is.EqualTo("/sessions/_doc/s1"));
            Assert.That(request.Query, Is.Empty);
            Assert.That(request.Json?.ToJsonString(), Is.EqualTo(
                $$"""{"key":"s1","payload":"AAEC/w==","version":9223372036854775807,"expiresAt":{{s_nowMs + 60_000}}}"""));
        }
    }

    [Test]
    public async Task Set_if_absent_is_one_create()
    {
        var transport = new RecordedTransport(Responses.Written(Index, Key));
        var written = await Backend(transport).SetAsync(Key, Record(), SetCondition.IfAbsent, CancellationToken.None);

        var request = transport.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Is.True);
            Assert.That(request.Method, Is.EqualTo("PUT"));
            Assert.That(request.Path, Is.EqualTo("/sessions/_doc/s1"));
            Assert.That(request.Query, Is.EqualTo(new Dictionary<string, string> { ["op_type"] = "create" }));
        }
    }

    [Test]
    public async Task Set_if_absent_over_a_live_document_reads_it_on_409_and_reports_not_written()
    {
        var transport = new RecordedTransport(
            Responses.DocumentExists(Index, Key),
            Responses.Found(Index, Key, Source(version: 1, expiresAtMs: s_nowMs + 1)));
        var written = await Backend(transport).SetAsync(Key, Record(), SetCondition.IfAbsent, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Is.False);
            Assert.That(transport.Requests.Select(r => $"{r.Method} {r.Uri.PathAndQuery}"), Is.EqualTo(new[]
            {
                "PUT /sessions/_doc/s1?op_type=create",
                "GET /sessions/_doc/s1",
            }));
        }
    }

    [Test]
    public async Task Set_if_absent_over_an_expired_document_overwrites_exactly_the_expired_one_read()
    {
        var transport = new RecordedTransport(
            Responses.DocumentExists(Index, Key),
            Responses.Found(Index, Key, Source(version: 1, expiresAtMs: s_nowMs), seqNo: 41, primaryTerm: 3),
            Responses.Written(Index, Key, "updated"));
        var written = await Backend(transport).SetAsync(Key, Record(), SetCondition.IfAbsent, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Is.True);
            Assert.That(transport.Requests.Select(r => $"{r.Method} {r.Uri.PathAndQuery}"), Is.EqualTo(new[]
            {
                "PUT /sessions/_doc/s1?op_type=create",
                "GET /sessions/_doc/s1",
                "PUT /sessions/_doc/s1?if_seq_no=41&if_primary_term=3",
            }));
        }
    }

    [Test]
    public async Task Set_if_absent_loses_when_another_writer_replaced_the_expired_document_first()
    {
        var transport = new RecordedTransport(
            Responses.DocumentExists(Index, Key),
            Responses.Found(Index, Key, Source(version: 1, expiresAtMs: s_nowMs - 5), seqNo: 41, primaryTerm: 3),
            Responses.VersionConflict(Index, Key),
            Responses.DocumentExists(Index, Key),
            Responses.Found(Index, Key, Source(version: 2, expiresAtMs: s_nowMs + 60_000), seqNo: 42, primaryTerm: 3));

        Assert.That(await Backend(transport).SetAsync(Key, Record(), SetCondition.IfAbsent, CancellationToken.None), Is.False);
        Assert.That(transport.Unanswered, Is.Zero);
    }

    [Test]
    public async Task Set_if_version_with_the_token_from_get_is_one_conditional_write_without_a_read()
    {
        var token = new ElasticsearchConcurrencyToken(SeqNo: 12, PrimaryTerm: 4, Version: 5, ExpiresAtMs: s_nowMs + 1000);
        var transport = new RecordedTransport(Responses.Written(Index, Key, "updated"));
        var written = await Backend(transport).SetAsync(Key, Record(version: 6), SetCondition.IfVersion(5, token), CancellationToken.None);

        var request = transport.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Is.True);
            Assert.That(request.Method, Is.EqualTo("PUT"));
            Assert.That(request.Path, Is.EqualTo("/sessions/_doc/s1"));
            Assert.That(request.Query, Is.EqualTo(new Dictionary<string, string> { ["if_seq_no"] = "12", ["if_primary_term"] = "4" }));
            Assert.That(request.Json?["version"]?.GetValue<long>(), Is.EqualTo(6));
        }
    }

    [Test]
    public async Task Set_if_version_with_a_stale_token_is_refused_by_409_and_not_written()
    {
        var token = new ElasticsearchConcurrencyToken(12, 4, 5, s_nowMs + 1000);
        var transport = new RecordedTransport(Responses.VersionConflict(Index, Key));

        Assert.That(await Backend(transport).SetAsync(Key, Record(version: 6), SetCondition.IfVersion(5, token), CancellationToken.None), Is.False);
    }

    [Test]
    public async Task Set_if_version_with_a_token_of_an_expired_read_writes_nothing()
    {
        var token = new ElasticsearchConcurrencyToken(12, 4, 5, s_nowMs);
        var transport = new RecordedTransport();

        Assert.That(await Backend(transport).SetAsync(Key, Record(version: 6), SetCondition.IfVersion(5, token), CancellationToken.None), Is.False);
        Assert.That(transport.Requests, Is.Empty);
    }

    [Test]
    public async Task Set_if_version_without_a_token_reads_then_writes_on_that_reads_sequence_number()
    {
        var transport = new RecordedTransport(
            Responses.Found(Index, Key, Source(version: 5, expiresAtMs: s_nowMs + 1000), seqNo: 30, primaryTerm: 2),
            Responses.Written(Index, Key, "updated"));

        Assert.That(await Backend(transport).SetAsync(Key, Record(version: 6), SetCondition.IfVersion(5), CancellationToken.None), Is.True);
        Assert.That(transport.Requests.Select(r => $"{r.Method} {r.Uri.PathAndQuery}"), Is.EqualTo(new[]
        {
            "GET /sessions/_doc/s1",
            "PUT /sessions/_doc/s1?if_seq_no=30&if_primary_term=2",
        }));
    }

    [Test]
    public async Task Set_if_version_of_another_version_writes_nothing()
    {
        var transport = new RecordedTransport(Responses.Found(Index, Key, Source(version: 4, expiresAtMs: s_nowMs + 1000)));

        Assert.That(await Backend(transport).SetAsync(Key, Record(version: 6), SetCondition.IfVersion(5), CancellationToken.None), Is.False);
        Assert.That(transport.Requests, Has.Count.EqualTo(1), "only the read");
    }

    [Test]
    public async Task Remove_deletes_on_the_sequence_number_of_the_read_that_checked_the_version()
    {
        var transport = new RecordedTransport(
            Responses.Found(Index, Key, Source(version: 5, expiresAtMs: s_nowMs + 1000), seqNo: 30, primaryTerm: 2),
            Responses.Deleted(Index, Key));

        Assert.That(await Backend(transport).RemoveAsync(Key, 5, CancellationToken.None), Is.True);
        Assert.That(transport.Requests.Select(r => $"{r.Method} {r.Uri.PathAndQuery}"), Is.EqualTo(new[]
        {
            "GET /sessions/_doc/s1",
            "DELETE /sessions/_doc/s1?if_seq_no=30&if_primary_term=2",
        }));
    }

    [Test]
    public async Task Remove_of_an_expired_document_deletes_nothing()
    {
        var transport = new RecordedTransport(Responses.Found(Index, Key, Source(version: 5, expiresAtMs: s_nowMs - 1)));

        Assert.That(await Backend(transport).RemoveAsync(Key, null, CancellationToken.None), Is.False);
        Assert.That(transport.Requests, Has.Count.EqualTo(1), "only the read");
    }

    [Test]
    public async Task Remove_reads_again_when_a_touch_moved_the_sequence_number()
    {
        var transport = new RecordedTransport(
            Responses.Found(Index, Key, Source(version: 5, expiresAtMs: s_nowMs + 1000), seqNo: 30),
            Responses.VersionConflict(Index, Key),
            Responses.Found(Index, Key, Source(version: 5, expiresAtMs: s_nowMs + 9000), seqNo: 31),
            Responses.Deleted(Index, Key));

        Assert.That(await Backend(transport).RemoveAsync(Key, 5, CancellationToken.None), Is.True);
        Assert.That(transport.Requests.Last().Query["if_seq_no"], Is.EqualTo("31"));
    }

    [Test]
    public async Task Touch_updates_only_expiresAt_on_the_sequence_number_of_the_read()
    {
        var transport = new RecordedTransport(
            Responses.Found(Index, Key, Source(version: 5, expiresAtMs: s_nowMs + 1000), seqNo: 30, primaryTerm: 2),
            Responses.Updated(Index, Key));

        Assert.That(await Backend(transport).TouchAsync(Key, s_now.AddHours(1), CancellationToken.None), Is.True);
        var update = transport.Requests[1];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(update.Method, Is.EqualTo("POST"));
            Assert.That(update.Path, Is.EqualTo("/sessions/_update/s1"));
            Assert.That(update.Query, Is.EqualTo(new Dictionary<string, string> { ["if_seq_no"] = "30", ["if_primary_term"] = "2" }));
            Assert.That(update.Json?.ToJsonString(), Is.EqualTo("""{"detect_noop":false,"doc":{"expiresAt":""" + s_now.AddHours(1).ToUnixTimeMilliseconds() + "}}"));
        }
    }

    [Test]
    public async Task Touch_of_a_missing_document_writes_nothing()
    {
        var transport = new RecordedTransport(Responses.NotFound(Index, Key));

        Assert.That(await Backend(transport).TouchAsync(Key, s_now.AddHours(1), CancellationToken.None), Is.False);
        Assert.That(transport.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Purge_refreshes_then_deletes_by_query_what_expired_at_or_before_now()
    {
        var transport = new RecordedTransport(Responses.Refreshed(), Responses.DeletedByQuery(deleted: 17, conflicts: 2));
        var purged = await Backend(transport, batchSize: 500).PurgeExpiredAsync(CancellationToken.None);

        var (refresh, delete) = (transport.Requests[0], transport.Requests[1]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(purged, Is.EqualTo(17), "the documents deleted; conflicts (touched since the search) are kept");
            Assert.That($"{refresh.Method} {refresh.Path}", Is.EqualTo("POST /sessions/_refresh"));
            Assert.That($"{delete.Method} {delete.Path}", Is.EqualTo("POST /sessions/_delete_by_query"));
            Assert.That(delete.Query, Is.EqualTo(new Dictionary<string, string> { ["conflicts"] = "proceed", ["refresh"] = "true", ["scroll_size"] = "500" }));
            Assert.That(delete.Json?.ToJsonString(), Is.EqualTo("""{"query":{"range":{"expiresAt":{"lte":""" + s_nowMs + "}}}}"));
        }
    }

    [Test]
    public async Task Listing_pages_through_a_point_in_time_with_search_after_and_closes_it()
    {
        var transport = new RecordedTransport(
            Responses.Refreshed(),
            Responses.PitOpened("pit-1"),
            Responses.Hits("pit-2", "p:a", "p:b"),
            Responses.Hits("pit-3", "p:c"),
            Responses.PitClosed());
        var keys = new List<string>();
        await foreach (var key in Backend(transport, batchSize: 2).EnumerateKeysAsync("p:", CancellationToken.None))
        {
            keys.Add(key);
        }

        var requests = transport.Requests;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(keys, Is.EqualTo(new[] { "p:a", "p:b", "p:c" }));
            Assert.That(requests.Select(r => $"{r.Method} {r.Path}"), Is.EqualTo(new[]
            {
                "POST /sessions/_refresh", "POST /sessions/_pit", "POST /_search", "POST /_search", "DELETE /_pit",
            }));
            Assert.That(requests[1].Query, Is.EqualTo(new Dictionary<string, string> { ["keep_alive"] = "1m" }));
            Assert.That(requests[2].Json?.ToJsonString(), Is.EqualTo(
                """{"pit":{"id":"pit-1","keep_alive":"1m"},"query":{"bool":{"filter":[{"prefix":{"key":{"value":"p:"}}},{"range":{"expiresAt":{"gt":""" + s_nowMs + """}}}]}},"size":2,"sort":{"key":{"order":"asc"}},"_source":false,"track_total_hits":false}"""));
            Assert.That(requests[3].Json?["pit"]?["id"]?.GetValue<string>(), Is.EqualTo("pit-2"), "the point in time each page returned");
            Assert.That(requests[3].Json?["search_after"]?.ToJsonString(), Is.EqualTo("""["p:b",1]"""), "the sort values of the last hit");
            Assert.That(requests[4].Json?.ToJsonString(), Is.EqualTo("""{"id":"pit-3"}"""));
        }
    }

    [Test]
    public async Task Index_creation_sends_the_explicit_mapping_when_the_index_is_missing()
    {
        var transport = new RecordedTransport(new CannedResponse(404, string.Empty), new CannedResponse(200, """{"acknowledged":true,"shards_acknowledged":true,"index":"sessions"}"""));
        await Backend(transport, createIndex: true).EnsureIndexAsync(CancellationToken.None);

        var (head, put) = (transport.Requests[0], transport.Requests[1]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That($"{head.Method} {head.Path}", Is.EqualTo("HEAD /sessions"));
            Assert.That($"{put.Method} {put.Path}", Is.EqualTo("PUT /sessions"));
            Assert.That(JsonNode.DeepEquals(put.Json, JsonNode.Parse("""
                {"mappings":{"dynamic":"strict","properties":{
                  "key":{"type":"keyword"},
                  "payload":{"type":"binary"},
                  "version":{"index":false,"type":"long"},
                  "expiresAt":{"format":"epoch_millis","type":"date"}}}}
                """)), Is.True, put.Body);
        }
    }

    [Test]
    public async Task Index_creation_tolerates_an_index_created_meanwhile()
    {
        var transport = new RecordedTransport(
            new CannedResponse(404, string.Empty),
            Responses.Error(400, "resource_already_exists_exception", "index [sessions/abc] already exists", Index));

        await Backend(transport, createIndex: true).EnsureIndexAsync(CancellationToken.None);

        Assert.That(transport.Requests, Has.Count.EqualTo(2));
    }

    private static ElasticsearchSessionBackend Backend(RecordedTransport transport, int batchSize = 1000, bool createIndex = false) =>
        new(transport.Client, new ElasticsearchSessionBackendOptions { Index = Index, BatchSize = batchSize, CreateIndex = createIndex }, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(s_now));

    private static SessionRecord Record(long version = 1) => new(new byte[] { 0, 1, 2, 255 }, s_now.AddMinutes(1), version);

    private static string Source(long version, long expiresAtMs, string payload = "AAEC") =>
        $$"""{"key":"{{Key}}","payload":"{{payload}}","version":{{version}},"expiresAt":{{expiresAtMs}}}""";
}
