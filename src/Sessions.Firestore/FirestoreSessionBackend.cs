using System.Runtime.CompilerServices;
using System.Text;
using Grpc.Core;
using Sessions.Backends;
using Sessions.Firestore.Protocol;

namespace Sessions.Firestore;

/// <summary>
/// A backend that stores one document per session in Google Cloud Firestore (Native mode), through Firestore's v1 gRPC
/// API, or in the Firestore emulator.
/// </summary>
/// <remarks>
/// <para>Document: ID derived from the storage key (see the package README), fields <c>payload</c> (bytes), <c>version</c>
/// (integer) and <c>expiresAt</c> (timestamp; a TTL policy on it lets Firestore delete expired sessions). Every read checks
/// <c>expiresAt</c> with the backend's clock, because TTL deletion is late (up to a day) and the emulator has none.</para>
/// <para>Conditional writes are single commits with a precondition, so Firestore makes them atomic: <c>IfAbsent</c> commits
/// with <c>exists=false</c> (and, when the document that exists has expired, replaces it under an <c>update_time</c>
/// precondition); <c>IfVersion</c> commits under the <c>update_time</c> of the record it replaces, taken from the
/// <see cref="SessionRecord.ConcurrencyToken"/> the engine hands back (one round trip) or from a read of the version and
/// expiry (two). Conditional deletes and touches read the version and expiry, then delete or update under that
/// <c>update_time</c>. A write that loses to a concurrent touch (same version, new <c>update_time</c>) is retried.</para>
/// <para>Errors (unreachable, deadline exceeded, credentials refused) surface as <see cref="FirestoreSessionException"/>
/// naming the endpoint and the setting to check. A document whose fields are missing or of another type is reported as
/// <see cref="SessionRecordCorruptException"/>.</para>
/// </remarks>
public sealed class FirestoreSessionBackend
    : ISessionBackend, ISessionKeyEnumerator, IExpiredSessionPurger, ISessionBackendHealthProbe, ISessionBackendLimits, IAsyncDisposable, IDisposable
{
    // How often a conditional operation re-reads and retries after losing to a write that kept its condition true
    // (a touch or another conditional write that changed update_time but not the version); each loss means another caller won.
    private const int MaxAttempts = 64;


    private static readonly DocumentMask s_headerMask = new() { FieldPaths = { SessionDocument.VersionField, SessionDocument.ExpiresAtField } };
    private static readonly DocumentMask s_expiresAtMask = new() { FieldPaths = { SessionDocument.ExpiresAtField } };
    private static readonly DocumentMask s_nameOnly = new();

    private readonly FirestoreChannel _channel;
    private readonly Protocol.Firestore.FirestoreClient _client;
    private readonly TimeProvider _time;
    private readonly FirestoreErrors _errors;
    private readonly string _database;
    private readonly string _documentsRoot;
    private readonly string _collectionPrefix;
    private readonly string _collection;
    private readonly int _collectionBytes;
    private readonly TimeSpan _callTimeout;
    private readonly TimeSpan _queryTimeout;
    private readonly Metadata _routing;
    private int _disposed;

    /// <summary>Creates the backend and its gRPC channel (plaintext to an emulator, TLS with Google credentials otherwise); disposing the backend closes the channel.</summary>
    /// <param name="options">The project, database, collection and how to reach Firestore.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which setting and why.</exception>
    public FirestoreSessionBackend(FirestoreSessionBackendOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _channel = FirestoreChannel.Create(options);
        _client = _channel.Client;
        _time = timeProvider ?? TimeProvider.System;
        _database = $"projects/{options.ProjectId}/databases/{options.DatabaseId}";
        _documentsRoot = _database + "/documents";
        _collection = options.Collection;
        _collectionPrefix = $"{_documentsRoot}/{options.Collection}/";
        _collectionBytes = Encoding.UTF8.GetByteCount(options.Collection);
        _callTimeout = options.CallTimeout;
        _queryTimeout = options.QueryTimeout;
        _errors = new FirestoreErrors(_channel.Endpoint, _database, _channel.IsEmulator, options.CallTimeout);
        // Routes requests to a named database (Firestore's routing header, as Google's own clients send it).
        _routing = new Metadata { { "x-goog-request-params", "database=" + Uri.EscapeDataString(_database) } };
        if (_channel.IsEmulator)
        {
            // The emulator's marker for a privileged (server) client, as Google's server SDKs send it to the emulator: not a
            // credential, but without it the emulator refuses BatchWrite ("Batch writes require admin authentication").
            _routing.Add("authorization", "Bearer owner");
        }
        MaxPayloadBytes = SessionDocument.MaxPayloadBytes(_collectionBytes);
    }

    /// <summary>The endpoint called: the emulator's <c>host:port</c>, or <c>firestore.googleapis.com</c>.</summary>
    public string Endpoint => _channel.Endpoint;

    /// <summary>The database, as <c>projects/{project}/databases/{database}</c>.</summary>
    public string Database => _database;

    /// <summary>The collection that holds the sessions.</summary>
    public string Collection => _collection;

    /// <inheritdoc />
    /// <remarks>A Firestore document holds at most 1 MiB; this is that less the document's name and fields at the longest key.</remarks>
    public int MaxPayloadBytes { get; }

    /// <summary>The gRPC client on the backend's channel (for the benchmark's baseline, which must share the transport).</summary>
    internal Protocol.Firestore.FirestoreClient Client => _client;

    /// <summary>Documents per query page and per <c>BatchWrite</c> (which takes at most 500 writes). Tests lower it to cross pages.</summary>
    internal int PageSize { get; set; } = 300;

    /// <summary>The headers every call carries (routing; on the emulator, its privileged-client marker), for the benchmark's baseline.</summary>
    internal Metadata CallHeaders => _routing;

    /// <summary>The full resource name of the document for <paramref name="key"/>.</summary>
    internal string DocumentName(string key) => _collectionPrefix + SessionDocumentIds.Encode(key);

    /// <inheritdoc />
    /// <exception cref="SessionRecordCorruptException">The document exists but is not a session record (missing or wrongly typed fields).</exception>
    /// <exception cref="FirestoreSessionException">Firestore could not be reached, timed out, or failed.</exception>
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        Begin(key, cancellationToken);
        var document = await ReadAsync(DocumentName(key), mask: null, "read (GetDocument)", cancellationToken).ConfigureAwait(false);
        if (document is null)
        {
            return null;
        }

        var record = SessionDocument.Decode(key, document);
        return record.ExpiresAt > _time.GetUtcNow() ? record : null;
    }

    /// <inheritdoc />
    /// <exception cref="FirestoreSessionException">The record does not fit in one document, or Firestore failed.</exception>
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        Begin(key, cancellationToken);
        ArgumentNullException.ThrowIfNull(record);
        var id = SessionDocumentIds.Encode(key);
        if (SessionDocument.Size(_collectionBytes, Encoding.UTF8.GetByteCount(id), record.Payload.Length) > SessionDocument.MaxDocumentBytes)
        {
            throw _errors.TooLarge(key, record.Payload.Length, SessionDocument.MaxDocumentBytes - SessionDocument.Size(_collectionBytes, id.Length, 0));
        }

        var name = _collectionPrefix + id;
        var write = new Write { Update = SessionDocument.Encode(name, record) };
        switch (condition.Kind)
        {
            case SetConditionKind.Always:
                await CommitAsync(write, "write (Commit)", cancellationToken).ConfigureAwait(false);
                return true;

            case SetConditionKind.IfAbsent:
                return await SetIfAbsentAsync(key, name, write, cancellationToken).ConfigureAwait(false);

            case SetConditionKind.IfVersion:
                return await SetIfVersionAsync(key, name, write, condition, cancellationToken).ConfigureAwait(false);

            default:
                throw new ArgumentOutOfRangeException(nameof(condition), condition.Kind, "Unknown SetCondition kind.");
        }
    }

    /// <inheritdoc />
    /// <remarks>Reads the version and expiry, then deletes under that <c>update_time</c>. An expired document is deleted too, but counts as absent (the call returns <see langword="false"/>).</remarks>
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        Begin(key, cancellationToken);
        var name = DocumentName(key);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await ReadAsync(name, s_headerMask, "conditional delete (GetDocument)", cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return false;
            }

            var (live, version) = Judge(key, current);
            if (live && expectedVersion is { } expected && version != expected)
            {
                return false;
            }

            var delete = new Write { Delete = name, CurrentDocument = new Precondition { UpdateTime = current.UpdateTime } };
            if (await TryCommitAsync(delete, "conditional delete (Commit)", cancellationToken).ConfigureAwait(false))
            {
                return live;
            }
        }

        return false;
    }

    /// <inheritdoc />
    /// <remarks>Reads the version and expiry, then updates <c>expiresAt</c> alone (an update mask: the payload is not sent) under that <c>update_time</c>, so an expired or replaced document is never touched.</remarks>
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        Begin(key, cancellationToken);
        var name = DocumentName(key);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await ReadAsync(name, s_headerMask, "touch (GetDocument)", cancellationToken).ConfigureAwait(false);
            if (current is null || !Judge(key, current).Live)
            {
                return false;
            }

            var update = new Document { Name = name };
            update.Fields.Add(SessionDocument.ExpiresAtField, SessionDocument.TimestampValue(expiresAt));
            var write = new Write { Update = update, UpdateMask = s_expiresAtMask, CurrentDocument = new Precondition { UpdateTime = current.UpdateTime } };
            if (await TryCommitAsync(write, "touch (Commit)", cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    /// <remarks>
    /// A <c>RunQuery</c> over the collection ordered by document name, restricted to the names under the prefix (keys map to
    /// document IDs character by character, so a key prefix is a name range), in pages; expired documents are skipped.
    /// </remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        string? after = null;
        while (true)
        {
            var query = NewQuery(SessionDocument.ExpiresAtField);
            var filters = new List<StructuredQuery.Types.Filter>();
            if (prefix.Length > 0)
            {
                var low = _collectionPrefix + SessionDocumentIds.Encode(prefix);
                filters.Add(NameFilter(StructuredQuery.Types.FieldFilter.Types.Operator.GreaterThanOrEqual, low));
                filters.Add(NameFilter(StructuredQuery.Types.FieldFilter.Types.Operator.LessThan, low + SessionDocumentIds.AfterAllIdCharacters));
            }

            if (after is not null)
            {
                filters.Add(NameFilter(StructuredQuery.Types.FieldFilter.Types.Operator.GreaterThan, after));
            }

            query.Where = Combine(filters);
            query.OrderBy.Add(new StructuredQuery.Types.Order { Field = new() { FieldPath = "__name__" }, Direction = StructuredQuery.Types.Direction.Ascending });

            var page = await QueryAsync(query, "key listing (RunQuery)", cancellationToken).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            foreach (var document in page)
            {
                if (!document.Name.StartsWith(_collectionPrefix, StringComparison.Ordinal)
                    || SessionDocumentIds.Decode(document.Name[_collectionPrefix.Length..]) is not { } key)
                {
                    continue;
                }

                if (document.Fields.TryGetValue(SessionDocument.ExpiresAtField, out var expiry)
                    && expiry.ValueTypeCase == Value.ValueTypeOneofCase.TimestampValue
                    && expiry.TimestampValue.ToDateTimeOffset() > now
                    && key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    yield return key;
                }
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = page[^1].Name;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Queries <c>expiresAt &lt;= now</c> in pages and deletes each page with one <c>BatchWrite</c>, each delete under the
    /// <c>update_time</c> the query saw, so a document touched or rewritten since is kept (and not counted). With a TTL
    /// policy on <c>expiresAt</c>, Firestore deletes expired sessions itself and the purge only catches up with its delay.
    /// </remarks>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        long purged = 0;
        var now = SessionDocument.TimestampValue(_time.GetUtcNow());
        Cursor? after = null;
        while (true)
        {
            var query = NewQuery(SessionDocument.ExpiresAtField);
            query.Where = new StructuredQuery.Types.Filter
            {
                FieldFilter = new()
                {
                    Field = new() { FieldPath = SessionDocument.ExpiresAtField },
                    Op = StructuredQuery.Types.FieldFilter.Types.Operator.LessThanOrEqual,
                    Value = now,
                },
            };
            query.OrderBy.Add(new StructuredQuery.Types.Order { Field = new() { FieldPath = SessionDocument.ExpiresAtField }, Direction = StructuredQuery.Types.Direction.Ascending });
            query.OrderBy.Add(new StructuredQuery.Types.Order { Field = new() { FieldPath = "__name__" }, Direction = StructuredQuery.Types.Direction.Ascending });
            if (after is not null)
            {
                query.StartAt = after;
            }

            var page = await QueryAsync(query, "purge (RunQuery)", cancellationToken).ConfigureAwait(false);
            var ours = page.Where(d => d.Name.StartsWith(_collectionPrefix, StringComparison.Ordinal) && d.UpdateTime is not null).ToList();
            if (ours.Count > 0)
            {
                var batch = new BatchWriteRequest { Database = _database };
                batch.Writes.AddRange(ours.Select(d => new Write { Delete = d.Name, CurrentDocument = new Precondition { UpdateTime = d.UpdateTime } }));
                BatchWriteResponse response;
                try
                {
                    response = await _client.BatchWriteAsync(batch, _routing, Deadline(_queryTimeout), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
                {
                    throw _errors.Translate(e, "purge (BatchWrite)");
                }

                // Each delete has its own status: FailedPrecondition or NotFound when the document changed or went since the query.
                purged += response.Status.Count(s => s.Code == 0);
            }

            if (page.Count < PageSize)
            {
                return purged;
            }

            var last = page[^1];
            after = new Cursor { Before = false };
            after.Values.Add(last.Fields.TryGetValue(SessionDocument.ExpiresAtField, out var lastExpiry) ? lastExpiry : now);
            after.Values.Add(new Value { ReferenceValue = last.Name });
        }
    }

    /// <inheritdoc />
    /// <remarks>A <c>GetDocument</c> of a document that does not exist: Firestore answering <c>NotFound</c> for it is healthy.</remarks>
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await ReadAsync(_collectionPrefix + "%2Fhealth-probe", s_nameOnly, "health probe (GetDocument)", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the gRPC channel. Idempotent; calls after it throw <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, for containers disposed synchronously.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _channel.Dispose();
        }
    }

    private async ValueTask<bool> SetIfAbsentAsync(string key, string name, Write write, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            write.CurrentDocument = new Precondition { Exists = false };
            if (await TryCommitAsync(write, "conditional write (Commit, exists=false)", cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            // A document is there; it counts as absent when it has expired (or is not a session record at all), and is then
            // replaced under its update_time, so that of several writers replacing it only one succeeds.
            var current = await ReadAsync(name, mask: null, "conditional write (GetDocument)", cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                continue; // deleted since: try to create it again
            }

            if (JudgeLenient(key, current))
            {
                return false;
            }

            write.CurrentDocument = new Precondition { UpdateTime = current.UpdateTime };
            if (await TryCommitAsync(write, "conditional write (Commit, update_time)", cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    private async ValueTask<bool> SetIfVersionAsync(string key, string name, Write write, SetCondition condition, CancellationToken cancellationToken)
    {
        // The token says what the document held at that update_time; if update_time is unchanged, so is the document.
        if (condition.ConcurrencyToken is FirestoreConcurrencyToken token && string.Equals(token.Key, key, StringComparison.Ordinal))
        {
            if (token.Version != condition.ExpectedVersion || token.ExpiresAt <= _time.GetUtcNow())
            {
                return false;
            }

            write.CurrentDocument = new Precondition { UpdateTime = token.UpdateTime };
            if (await TryCommitAsync(write, "conditional write (Commit, update_time)", cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            // Changed since the engine read it: perhaps only touched (same version), so judge it afresh.
        }

        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await ReadAsync(name, s_headerMask, "conditional write (GetDocument)", cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return false;
            }

            var (live, version) = Judge(key, current);
            if (!live || version != condition.ExpectedVersion)
            {
                return false;
            }

            write.CurrentDocument = new Precondition { UpdateTime = current.UpdateTime };
            if (await TryCommitAsync(write, "conditional write (Commit, update_time)", cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a document read with the header mask is live, and its version; a malformed one is reported as corrupt.</summary>
    private (bool Live, long Version) Judge(string key, Document document)
    {
        var (version, expiresAt) = SessionDocument.DecodeHeader(key, document);
        return (expiresAt > _time.GetUtcNow(), version);
    }

    /// <summary>Whether a whole document is a live session record; a malformed one is not (a write may replace it).</summary>
    private bool JudgeLenient(string key, Document document)
    {
        try
        {
            return SessionDocument.Decode(key, document).ExpiresAt > _time.GetUtcNow();
        }
        catch (SessionRecordCorruptException)
        {
            return false;
        }
    }

    private async ValueTask<Document?> ReadAsync(string name, DocumentMask? mask, string operation, CancellationToken cancellationToken)
    {
        var request = new GetDocumentRequest { Name = name };
        if (mask is not null)
        {
            request.Mask = mask;
        }

        try
        {
            return await _client.GetDocumentAsync(request, _routing, Deadline(_callTimeout), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && !IsDatabaseError(e))
        {
            return null;
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, operation);
        }
    }

    private async ValueTask CommitAsync(Write write, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await _client.CommitAsync(new CommitRequest { Database = _database, Writes = { write } }, _routing, Deadline(_callTimeout), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, operation);
        }
    }

    /// <summary>Commits one write with a precondition; <see langword="false"/> when the precondition did not hold.</summary>
    private async ValueTask<bool> TryCommitAsync(Write write, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await _client.CommitAsync(new CommitRequest { Database = _database, Writes = { write } }, _routing, Deadline(_callTimeout), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RpcException e) when (IsPreconditionFailure(e))
        {
            return false;
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, operation);
        }
    }

    private async ValueTask<List<Document>> QueryAsync(StructuredQuery query, string operation, CancellationToken cancellationToken)
    {
        var documents = new List<Document>();
        try
        {
            using var call = _client.RunQuery(new RunQueryRequest { Parent = _documentsRoot, StructuredQuery = query }, _routing, Deadline(_queryTimeout), cancellationToken);
            while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                if (call.ResponseStream.Current.Document is { } document)
                {
                    documents.Add(document);
                }
            }
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, operation);
        }

        return documents;
    }

    private StructuredQuery NewQuery(string field)
    {
        var query = new StructuredQuery { Limit = PageSize, Select = new StructuredQuery.Types.Projection() };
        query.Select.Fields.Add(new StructuredQuery.Types.FieldReference { FieldPath = field });
        query.From.Add(new StructuredQuery.Types.CollectionSelector { CollectionId = _collection });
        return query;
    }

    private static StructuredQuery.Types.Filter NameFilter(StructuredQuery.Types.FieldFilter.Types.Operator op, string name) => new()
    {
        FieldFilter = new() { Field = new() { FieldPath = "__name__" }, Op = op, Value = new Value { ReferenceValue = name } },
    };

    private static StructuredQuery.Types.Filter? Combine(List<StructuredQuery.Types.Filter> filters)
    {
        if (filters.Count == 0)
        {
            return null;
        }

        if (filters.Count == 1)
        {
            return filters[0];
        }

        var composite = new StructuredQuery.Types.CompositeFilter { Op = StructuredQuery.Types.CompositeFilter.Types.Operator.And };
        composite.Filters.AddRange(filters);
        return new StructuredQuery.Types.Filter { CompositeFilter = composite };
    }

    // exists=false on an existing document: AlreadyExists (the emulator) or FailedPrecondition; a stale update_time:
    // FailedPrecondition; a precondition on a document that is gone: NotFound (checked against the emulator).
    private static bool IsPreconditionFailure(RpcException e) =>
        e.StatusCode is StatusCode.FailedPrecondition or StatusCode.AlreadyExists
        || (e.StatusCode == StatusCode.NotFound && !IsDatabaseError(e));

    private static bool IsDatabaseError(RpcException e) => e.Status.Detail.Contains("database", StringComparison.OrdinalIgnoreCase)
        && !e.Status.Detail.Contains("document", StringComparison.OrdinalIgnoreCase);

    private DateTime Deadline(TimeSpan timeout) => DateTime.UtcNow + timeout;

    private void Begin(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
