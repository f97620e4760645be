using NUnit.Framework;
using Sessions.Backends;
using Sessions.Firestore.Protocol;
using Sessions.Firestore.Tests.Support;

namespace Sessions.Firestore.Tests;

/// <summary>What a session document holds, read back over the raw API; document IDs; the size limit; unreadable documents.</summary>
[TestFixture]
public sealed class DocumentTests
{
    private FirestoreSessionBackend _backend = null!;

    [OneTimeSetUp]
    public async Task CreateBackendAsync() => _backend = new FirestoreSessionBackend(await FirestoreEmulator.OptionsAsync(FirestoreEmulator.NewProjectId("doc")));

    [OneTimeTearDown]
    public void DisposeBackend() => _backend.Dispose();

    [Test]
    public async Task A_record_is_a_document_with_payload_bytes_version_integer_and_expiresAt_timestamp()
    {
        var key = $"session:{Guid.NewGuid():N}";
        var expiresAt = new DateTimeOffset(2099, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);
        await _backend.SetAsync(key, new SessionRecord(new byte[] { 1, 2, 3 }, expiresAt, 42), SetCondition.Always, CancellationToken.None);

        var document = await _backend.Client.GetDocumentAsync(new GetDocumentRequest { Name = _backend.DocumentName(key) });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(document.Name, Does.EndWith($"/documents/sessions/{key}"), "the key is the document ID, unescaped when it needs no escaping");
            Assert.That(document.Fields.Keys, Is.EquivalentTo(new[] { "payload", "version", "expiresAt" }));
            Assert.That(document.Fields["payload"].BytesValue.ToByteArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
            Assert.That(document.Fields["version"].IntegerValue, Is.EqualTo(42));
            Assert.That(document.Fields["expiresAt"].TimestampValue.ToDateTimeOffset(), Is.EqualTo(expiresAt), "a timestamp, so a TTL policy can use it");
        }
    }

    [TestCase("plain:key", "plain:key")]
    [TestCase("a/b%c", "a%2Fb%25c")]
    [TestCase(".", "%2E")]
    [TestCase("..", "%2E.")]
    [TestCase("__reserved__", "%5F_reserved__")]
    [TestCase("x__y__", "x__y__")]
    public void Keys_map_to_valid_document_IDs_and_back(string key, string id)
    {
        Assert.That(SessionDocumentIds.Encode(key), Is.EqualTo(id));
        Assert.That(SessionDocumentIds.Decode(id), Is.EqualTo(key));
    }

    [Test]
    public void IDs_that_no_key_maps_to_do_not_decode()
    {
        Assert.That(new[] { "%2", "%ZZ", "a%2Eb" }.Select(SessionDocumentIds.Decode), Has.All.Null);
    }

    [Test]
    public async Task Keys_with_every_printable_character_round_trip_through_the_emulator()
    {
        var printable = new string([.. Enumerable.Range('!', '~' - '!' + 1).Select(c => (char)c)]);
        string[] keys = ["/" + printable, "." , "..", "__x__", "%2F", new string('/', SessionKeys.MaxKeyLength)];
        foreach (var key in keys)
        {
            var record = new SessionRecord(new byte[] { 9 }, DateTimeOffset.UtcNow.AddHours(1), 1);
            Assert.That(await _backend.SetAsync(key, record, SetCondition.Always, CancellationToken.None), Is.True, key);
            Assert.That((await _backend.GetAsync(key, CancellationToken.None))?.Payload.ToArray(), Is.EqualTo(new byte[] { 9 }), key);
        }

        var listed = new List<string>();
        await foreach (var key in _backend.EnumerateKeysAsync(string.Empty, CancellationToken.None))
        {
            listed.Add(key);
        }

        Assert.That(listed, Is.SupersetOf(keys), "the listing decodes every ID back to its key");
    }

    [Test]
    public async Task The_largest_payload_the_backend_states_round_trips_under_the_longest_key()
    {
        var key = new string('/', SessionKeys.MaxKeyLength); // every character escaped: the longest document ID
        var payload = Enumerable.Range(0, _backend.MaxPayloadBytes).Select(i => (byte)i).ToArray();

        Assert.That(await _backend.SetAsync(key, new SessionRecord(payload, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, CancellationToken.None), Is.True);

        Assert.That((await _backend.GetAsync(key, CancellationToken.None))?.Payload.ToArray(), Is.EqualTo(payload));
        Assert.That(_backend.MaxPayloadBytes, Is.GreaterThan(1_040_000), "close to Firestore's 1 MiB document limit");
    }

    [Test]
    public async Task A_record_too_large_for_one_document_is_refused_before_any_request_with_a_clear_message()
    {
        var key = $"big:{Guid.NewGuid():N}";
        await _backend.SetAsync(key, new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, CancellationToken.None);

        var error = Assert.ThrowsAsync<FirestoreSessionException>(async () =>
            await _backend.SetAsync(key, new SessionRecord(new byte[1024 * 1024], DateTimeOffset.UtcNow.AddHours(1), 2), SetCondition.Always, CancellationToken.None));

        Assert.That(error!.Message, Does.Contain("does not fit in one Firestore document").And.Contain("Sessions:MaxPayloadBytes"));
        Assert.That((await _backend.GetAsync(key, CancellationToken.None))?.Version, Is.EqualTo(1), "the stored record is intact");
    }

    [TestCase("payload", "string")]
    [TestCase("version", "string")]
    [TestCase("expiresAt", "integer")]
    [TestCase("version", "missing")]
    public async Task A_document_with_a_missing_or_wrongly_typed_field_is_reported_corrupt_not_as_an_outage(string field, string kind)
    {
        var key = $"corrupt:{Guid.NewGuid():N}";
        await _backend.SetAsync(key, new SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.Always, CancellationToken.None);
        var document = await _backend.Client.GetDocumentAsync(new GetDocumentRequest { Name = _backend.DocumentName(key) });
        document.UpdateTime = null;
        document.CreateTime = null;
        if (kind == "missing")
        {
            document.Fields.Remove(field);
        }
        else
        {
            document.Fields[field] = kind == "string" ? new Value { StringValue = "x" } : new Value { IntegerValue = 5 };
        }

        await _backend.Client.CommitAsync(new CommitRequest { Database = _backend.Database, Writes = { new Write { Update = document } } });

        var error = Assert.ThrowsAsync<SessionRecordCorruptException>(async () => await _backend.GetAsync(key, CancellationToken.None));
        Assert.That(error!.Message, Does.Contain($"field '{field}'"));
        Assert.That(await _backend.SetAsync(key, new SessionRecord(new byte[] { 2 }, DateTimeOffset.UtcNow.AddHours(1), 1), SetCondition.IfAbsent, CancellationToken.None), Is.True,
            "IfAbsent may replace a document that is not a session record");
    }
}
