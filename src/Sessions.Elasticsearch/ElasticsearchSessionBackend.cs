using System.Runtime.CompilerServices;
using System.Text.Json;
using Elastic.Clients.Elasticsearch;
using Elastic.Clients.Elasticsearch.Core.Search;
using Elastic.Clients.Elasticsearch.IndexManagement;
using Elastic.Clients.Elasticsearch.QueryDsl;
using Elastic.Transport;
using Sessions.Backends;

namespace Sessions.Elasticsearch;

/// <summary>
/// A backend that stores one document per session in an Elasticsearch index, through the official
/// Elastic.Clients.Elasticsearch client.
/// </summary>
/// <remarks>
/// <para>Document <c>_id</c> = the storage key; <c>_source</c> = <c>{ key, payload (base64), version, expiresAt (epoch ms) }</c>.
/// A document is live while <c>expiresAt &gt; now</c>, <c>now</c> from the backend's <see cref="TimeProvider"/>.</para>
/// <para>Reads are <c>GET /{index}/_doc/{key}</c>, which is real-time in Elasticsearch: it returns the latest indexed version
/// of a document even before a refresh makes it searchable, so no refresh is needed after a write. Searches (listing, purge) are
/// only near-real-time, so those two refresh the index first.</para>
/// <para>Every write is conditional on the server: <c>IfAbsent</c> indexes with <c>op_type=create</c>; when that fails with
/// 409 because a document exists, the document is read and, if expired, overwritten with <c>if_seq_no</c>/<c>if_primary_term</c>
/// of that read. <c>IfVersion</c>, delete and touch write with <c>if_seq_no</c>/<c>if_primary_term</c> of the read that checked
/// the version and expiry, or of the <see cref="SessionRecord.ConcurrencyToken"/> that <see cref="GetAsync"/> returned, which
/// saves the read. A write whose sequence number moved on gets 409 and is reported as "not written": nothing is ever written
/// on the strength of a read alone.</para>
/// <para>Elasticsearch has no time-to-live: run <see cref="PurgeExpiredAsync"/> (the core's purge service does) to delete
/// expired documents.</para>
/// </remarks>
public sealed class ElasticsearchSessionBackend
    : ISessionBackend, ISessionBackendInitializer, ISessionKeyEnumerator, IExpiredSessionPurger, ISessionBackendHealthProbe, ISessionBackendLimits, IAsyncDisposable, IDisposable
{
    /// <summary>
    /// The largest payload, in bytes: 64 MiB. Its base64 form (4/3 larger) and the rest of the request stay under the 100mb
    /// default of the node's <c>http.max_content_length</c>, which bounds one request.
    /// </summary>
    public const int DefaultMaxPayloadBytes = 64 * 1024 * 1024;

    // Rounds of "read, then write on that read's sequence number" before giving up when other writers keep winning.
    private const int MaxAttempts = 5;

    private static readonly Duration s_pitKeepAlive = "1m";

    private readonly ElasticsearchClient _client;
    private readonly IDisposable? _ownedSettings;
    private readonly TimeProvider _time;
    private readonly ElasticsearchErrors _errors;
    private readonly bool _createIndex;
    private readonly int _batchSize;
    private volatile bool _indexEnsured;
    private int _disposed;

    /// <summary>Creates the backend with a client of its own, built from <see cref="ElasticsearchSessionBackendOptions.Url"/> and the credentials.</summary>
    /// <param name="options">The node, index and credentials.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which and why.</exception>
    public ElasticsearchSessionBackend(ElasticsearchSessionBackendOptions options, TimeProvider? timeProvider = null)
        : this(Settings(Validated(options, clientSupplied: false)), options, timeProvider)
    {
    }

    /// <summary>Creates the backend on a client the caller owns (for example the <see cref="ElasticsearchClient"/> registered in DI).</summary>
    /// <param name="client">The client; its node pool, credentials and timeouts apply.</param>
    /// <param name="options">The index and batch size; the URL and credentials in it are ignored.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which and why.</exception>
    public ElasticsearchSessionBackend(ElasticsearchClient client, ElasticsearchSessionBackendOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        Validated(options, clientSupplied: true);
        _client = client;
        _time = timeProvider ?? TimeProvider.System;
        _createIndex = options.CreateIndex;
        _batchSize = options.BatchSize;
        Index = options.Index;
        _errors = new ElasticsearchErrors(DescribeNodes(client), options.Index);
    }

    private ElasticsearchSessionBackend(ElasticsearchClientSettings settings, ElasticsearchSessionBackendOptions options, TimeProvider? timeProvider)
        : this(new ElasticsearchClient(settings), options, timeProvider)
    {
        _ownedSettings = settings as IDisposable;
    }

    /// <summary>The index the sessions are stored in.</summary>
    public string Index { get; }

    /// <summary>The largest payload one document holds, in bytes: <see cref="DefaultMaxPayloadBytes"/> (64 MiB).</summary>
    public int MaxPayloadBytes => DefaultMaxPayloadBytes;

    /// <summary>Checks (or, with <see cref="ElasticsearchSessionBackendOptions.CreateIndex"/>, creates) the index: <see cref="EnsureIndexAsync"/>. The engine calls it when the host starts with this backend in force.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the index exists.</returns>
    /// <exception cref="ElasticsearchSessionException">The index is missing (and may not be created), or Elasticsearch failed.</exception>
    public ValueTask InitializeAsync(CancellationToken cancellationToken) => new(EnsureIndexAsync(cancellationToken));

    /// <summary>
    /// Checks that the index exists and, with <see cref="ElasticsearchSessionBackendOptions.CreateIndex"/>, creates it with the
    /// sessions mapping when it does not. Runs once per instance when it succeeds. The engine calls it at start-up (<see cref="InitializeAsync"/>).
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the index exists.</returns>
    /// <exception cref="ElasticsearchSessionException">The index is missing (and may not be created), or Elasticsearch failed.</exception>
    public async Task EnsureIndexAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (_indexEnsured)
        {
            return;
        }

        // No lock: concurrent first calls may each check (and create) the index, which the tolerated
        // resource_already_exists_exception makes harmless; after a success, calls skip the step.
        if (!await IndexExistsAsync("index check (HEAD /{index})", cancellationToken).ConfigureAwait(false))
        {
            var created = _createIndex
                ? await _client.Indices.CreateAsync(ElasticsearchSessionIndex.Create(Index), cancellationToken).ConfigureAwait(false)
                : throw _errors.IndexMissing();
            if (!created.IsValidResponse && ElasticsearchErrors.ErrorType(created) != ElasticsearchErrors.IndexAlreadyExists)
            {
                throw _errors.Translate(created, "index creation (PUT /{index})");
            }
        }

        _indexEnsured = true;
    }

    /// <inheritdoc />
    /// <remarks>A real-time <c>GET</c> by ID. The record carries the document's <c>_seq_no</c>/<c>_primary_term</c> as its <see cref="SessionRecord.ConcurrencyToken"/>.</remarks>
    /// <exception cref="SessionRecordCorruptException">The document under the key is not a session record.</exception>
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        var stored = await ReadAsync(key, cancellationToken).ConfigureAwait(false);
        return stored is { } s && s.ExpiresAtMs > NowMs() ? s.Record with { ConcurrencyToken = s.Token } : null;
    }

    /// <inheritdoc />
    /// <exception cref="SessionPayloadTooLargeException">The record is larger than <see cref="MaxPayloadBytes"/>, or Elasticsearch refused the request as too large (413).</exception>
    /// <exception cref="ElasticsearchSessionException">Elasticsearch failed; the message says what to check.</exception>
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ArgumentNullException.ThrowIfNull(record);
        if (record.Payload.Length > MaxPayloadBytes)
        {
            throw _errors.PayloadTooLarge(record.Payload.Length, MaxPayloadBytes, $"the backend's limit is {MaxPayloadBytes} bytes");
        }

        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        var document = ElasticsearchSessionDocument.Encode(key, record);
        switch (condition.Kind)
        {
            case SetConditionKind.IfAbsent:
                return await SetIfAbsentAsync(key, document, cancellationToken).ConfigureAwait(false);

            case SetConditionKind.IfVersion:
                var token = condition.ConcurrencyToken as ElasticsearchConcurrencyToken;
                if (token is null || token.Version != condition.ExpectedVersion)
                {
                    try
                    {
                        token = (await ReadAsync(key, cancellationToken).ConfigureAwait(false))?.Token;
                    }
                    catch (SessionRecordCorruptException)
                    {
                        return false;
                    }
                }

                if (token is null || token.Version != condition.ExpectedVersion || token.ExpiresAtMs <= NowMs())
                {
                    return false;
                }

                return await IndexAsync(key, document, Precondition.On(token), cancellationToken).ConfigureAwait(false);

            default:
                return await IndexAsync(key, document, Precondition.None, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <remarks>A real-time read that checks expiry and version, then <c>DELETE</c> with that read's <c>if_seq_no</c>/<c>if_primary_term</c>; repeated when a touch slipped in between.</remarks>
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var token = await ReadLiveTokenAsync(key, cancellationToken).ConfigureAwait(false);
            if (token is null || (expectedVersion is { } version && token.Version != version))
            {
                return false;
            }

            var response = await _client.DeleteAsync(
                new DeleteRequest(Index, key) { IfSeqNo = token.SeqNo, IfPrimaryTerm = token.PrimaryTerm }, cancellationToken).ConfigureAwait(false);
            if (response.IsValidResponse)
            {
                return response.Result == Result.Deleted;
            }

            if (ElasticsearchErrors.IsDocumentMissing(response))
            {
                return false;
            }

            if (!ElasticsearchErrors.IsVersionConflict(response))
            {
                throw _errors.Translate(response, "delete (DELETE /{index}/_doc/{id})");
            }
        }

        return false;
    }

    /// <inheritdoc />
    /// <remarks>A real-time read that checks expiry, then a partial update of <c>expiresAt</c> with that read's <c>if_seq_no</c>/<c>if_primary_term</c>.</remarks>
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var token = await ReadLiveTokenAsync(key, cancellationToken).ConfigureAwait(false);
            if (token is null)
            {
                return false;
            }

            var response = await _client.UpdateAsync(TouchRequest(key, expiresAt, token), cancellationToken).ConfigureAwait(false);
            if (response.IsValidResponse)
            {
                return true;
            }

            if (ElasticsearchErrors.IsDocumentMissing(response))
            {
                return false;
            }

            if (!ElasticsearchErrors.IsVersionConflict(response))
            {
                throw _errors.Translate(response, "touch (POST /{index}/_update/{id})");
            }
        }

        return false;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Refreshes the index (searches are near-real-time), opens a point in time, then pages of
    /// <see cref="ElasticsearchSessionBackendOptions.BatchSize"/> keys in key order with <c>search_after</c>: a <c>prefix</c>
    /// query on <c>key</c> (literal and case-sensitive) and <c>expiresAt &gt; now</c>. The point in time is closed at the end.
    /// </remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await RefreshAsync("key listing (POST /{index}/_refresh)", cancellationToken).ConfigureAwait(false);
        var pit = await _client.OpenPointInTimeAsync(new OpenPointInTimeRequest(Index) { KeepAlive = s_pitKeepAlive }, cancellationToken).ConfigureAwait(false);
        if (!pit.IsValidResponse)
        {
            throw _errors.Translate(pit, "key listing (POST /{index}/_pit)");
        }

        var pitId = pit.Id;
        try
        {
            ICollection<FieldValue>? after = null;
            while (true)
            {
                var request = ListingPage(prefix, NowMs(), pitId, after);
                var page = await _client.SearchAsync<JsonElement>(request, cancellationToken).ConfigureAwait(false);
                if (!page.IsValidResponse)
                {
                    throw _errors.Translate(page, "key listing (POST /_search)");
                }

                pitId = page.PitId ?? pitId;
                var hits = page.Hits;
                foreach (var hit in hits)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (hit.Id is { } id)
                    {
                        yield return id;
                    }
                }

                if (hits.Count < _batchSize || hits.Last().Sort is not { Count: > 0 } sort)
                {
                    yield break;
                }

                after = [.. sort];
            }
        }
        finally
        {
            // Best effort: an unclosed point in time expires by itself after its keep-alive.
            await _client.ClosePointInTimeAsync(new ClosePointInTimeRequest { Id = pitId }, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Refreshes the index, then one <c>_delete_by_query</c> on <c>expiresAt &lt;= now</c> with <c>conflicts=proceed</c>, in
    /// scroll batches of <see cref="ElasticsearchSessionBackendOptions.BatchSize"/>. Delete-by-query deletes each document only
    /// at the sequence number its search saw, so a session touched or rewritten meanwhile is kept (counted as a conflict).
    /// </remarks>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await RefreshAsync("purge (POST /{index}/_refresh)", cancellationToken).ConfigureAwait(false);
        var response = await _client.DeleteByQueryAsync(PurgeRequest(NowMs()), cancellationToken).ConfigureAwait(false);
        if (!response.IsValidResponse)
        {
            throw _errors.Translate(response, "purge (POST /{index}/_delete_by_query)");
        }

        return response.Deleted ?? 0;
    }

    /// <inheritdoc />
    /// <remarks><c>HEAD /{index}</c>: fails when the node cannot be reached, the credentials are refused, or the index is missing.</remarks>
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (!await IndexExistsAsync("health probe (HEAD /{index})", cancellationToken).ConfigureAwait(false))
        {
            throw _errors.IndexMissing();
        }
    }

    /// <summary>Marks the backend disposed; a client the backend built is released with it. Idempotent.</summary>
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
            _ownedSettings?.Dispose();
        }
    }

    // HEAD /{index}: false on 404; any other failure (unreachable, refused credentials) is thrown as what it is.
    private async Task<bool> IndexExistsAsync(string operation, CancellationToken cancellationToken)
    {
        var response = await _client.Indices.ExistsAsync(new Elastic.Clients.Elasticsearch.IndexManagement.ExistsRequest(Index), cancellationToken).ConfigureAwait(false);
        if (ElasticsearchErrors.Status(response) == 404)
        {
            return false;
        }

        return response.IsValidResponse ? true : throw _errors.Translate(response, operation);
    }

    /// <summary>The index request of a write: <c>PUT /{index}/_doc/{key}</c>, with <c>op_type=create</c> or <c>if_seq_no</c>/<c>if_primary_term</c> as <paramref name="precondition"/> says.</summary>
    internal IndexRequest<ElasticsearchSessionDocument> IndexRequest(string key, ElasticsearchSessionDocument document, Precondition precondition) =>
        new(document, Index, key)
        {
            OpType = precondition.Create ? OpType.Create : null,
            IfSeqNo = precondition.Token?.SeqNo,
            IfPrimaryTerm = precondition.Token?.PrimaryTerm,
        };

    /// <summary>The touch: <c>POST /{index}/_update/{key}?if_seq_no=..&amp;if_primary_term=..</c> with <c>{ "doc": { "expiresAt": ms } }</c>.</summary>
    internal UpdateRequest<ElasticsearchSessionDocument, ElasticsearchExpiryPatch> TouchRequest(string key, DateTimeOffset expiresAt, ElasticsearchConcurrencyToken token) =>
        new(Index, key)
        {
            Doc = new ElasticsearchExpiryPatch { ExpiresAt = expiresAt.ToUnixTimeMilliseconds() },
            IfSeqNo = token.SeqNo,
            IfPrimaryTerm = token.PrimaryTerm,
            DetectNoop = false,
        };

    /// <summary>One page of the listing: live keys under <paramref name="prefix"/> in key order, after <paramref name="after"/>.</summary>
    internal SearchRequest ListingPage(string prefix, long nowMs, string pitId, ICollection<FieldValue>? after)
    {
        var filters = new List<Query>(2);
        if (prefix.Length > 0)
        {
            filters.Add(new PrefixQuery(ElasticsearchSessionDocument.KeyField, prefix));
        }

        filters.Add(new LongNumberRangeQuery(ElasticsearchSessionDocument.ExpiresAtField) { Gt = nowMs });
        return new SearchRequest
        {
            Pit = new PointInTimeReference(pitId) { KeepAlive = s_pitKeepAlive },
            Query = new BoolQuery { Filter = filters },
            Size = _batchSize,
            Sort = [new SortOptions { Field = new FieldSort(ElasticsearchSessionDocument.KeyField) { Order = SortOrder.Asc } }],
            SearchAfter = after,
            Source = new SourceConfig(false),
            TrackTotalHits = new TrackHits(false),
        };
    }

    /// <summary>The purge: <c>POST /{index}/_delete_by_query?conflicts=proceed&amp;refresh=true&amp;scroll_size=N</c> on <c>expiresAt &lt;= now</c>.</summary>
    internal DeleteByQueryRequest PurgeRequest(long nowMs) => new(Index)
    {
        Query = new LongNumberRangeQuery(ElasticsearchSessionDocument.ExpiresAtField) { Lte = nowMs },
        Conflicts = Conflicts.Proceed,
        Refresh = true,
        ScrollSize = _batchSize,
    };

    /// <summary>The nodes a client calls, for messages.</summary>
    internal static string DescribeNodes(ElasticsearchClient client)
    {
        var nodes = client.ElasticsearchClientSettings.NodePool.Nodes.Select(n => n.Uri.GetLeftPart(UriPartial.Authority)).ToList();
        return nodes.Count == 0 ? "(no nodes)" : string.Join(",", nodes);
    }

    private static ElasticsearchSessionBackendOptions Validated(ElasticsearchSessionBackendOptions options, bool clientSupplied)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate(clientSupplied);
        return errors.Count == 0 ? options : throw new ArgumentException(string.Join(" ", errors), nameof(options));
    }

    /// <summary>The settings of a client the backend builds for itself: one node, the request timeout, API key or basic authentication.</summary>
    internal static ElasticsearchClientSettings Settings(ElasticsearchSessionBackendOptions options)
    {
        var settings = new ElasticsearchClientSettings(new Uri(options.Url!)).RequestTimeout(options.RequestTimeout);
        if (!string.IsNullOrEmpty(options.ApiKey))
        {
            settings = settings.Authentication(new ApiKey(options.ApiKey));
        }
        else if (!string.IsNullOrEmpty(options.Username))
        {
            settings = settings.Authentication(new BasicAuthentication(options.Username, options.Password!));
        }

        return settings;
    }

    private async Task<bool> SetIfAbsentAsync(string key, ElasticsearchSessionDocument document, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await IndexAsync(key, document, Precondition.Absent, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            // 409: a document exists. It counts as absent when it has expired: overwrite exactly the expired one seen.
            Stored? stored;
            try
            {
                stored = await ReadAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (SessionRecordCorruptException)
            {
                return false; // something unreadable holds the key; never overwrite it blindly
            }

            if (stored is null)
            {
                continue; // deleted since: try to create again
            }

            if (stored.ExpiresAtMs > NowMs())
            {
                return false;
            }

            if (await IndexAsync(key, document, Precondition.On(stored.Token), cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Indexes the document; <see langword="false"/> when the precondition failed (409).</summary>
    private async Task<bool> IndexAsync(string key, ElasticsearchSessionDocument document, Precondition precondition, CancellationToken cancellationToken)
    {
        var response = await _client.IndexAsync(IndexRequest(key, document, precondition), cancellationToken).ConfigureAwait(false);
        if (response.IsValidResponse)
        {
            return true;
        }

        if (ElasticsearchErrors.IsVersionConflict(response))
        {
            return false;
        }

        if (ElasticsearchErrors.IsDocumentMissing(response))
        {
            return false; // if_seq_no on a document deleted meanwhile
        }

        throw _errors.Translate(response, "write (PUT /{index}/_doc/{id})", document.Payload.Length, MaxPayloadBytes);
    }

    /// <summary>The token of the live record under the key, or <see langword="null"/> when none (missing, expired or unreadable).</summary>
    private async Task<ElasticsearchConcurrencyToken?> ReadLiveTokenAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var stored = await ReadAsync(key, cancellationToken).ConfigureAwait(false);
            return stored is { } s && s.ExpiresAtMs > NowMs() ? s.Token : null;
        }
        catch (SessionRecordCorruptException)
        {
            return null;
        }
    }

    private async Task<Stored?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var response = await _client.GetAsync<JsonElement>(new GetRequest(Index, key), cancellationToken).ConfigureAwait(false);
        if (response.IsValidResponse && response.Found)
        {
            if (response.SeqNo is not { } seqNo || response.PrimaryTerm is not { } primaryTerm)
            {
                throw new SessionRecordCorruptException($"Elasticsearch returned the document under '{key}' without _seq_no and _primary_term.") { Key = key };
            }

            var (record, expiresAtMs) = ElasticsearchSessionDocument.Decode(key, response.Source);
            return new Stored(record, expiresAtMs, new ElasticsearchConcurrencyToken(seqNo, primaryTerm, record.Version, expiresAtMs));
        }

        if ((response.IsValidResponse && !response.Found) || ElasticsearchErrors.IsDocumentMissing(response))
        {
            return null;
        }

        throw _errors.Translate(response, "read (GET /{index}/_doc/{id})");
    }

    private async Task RefreshAsync(string operation, CancellationToken cancellationToken)
    {
        var response = await _client.Indices.RefreshAsync(new RefreshRequest(Index), cancellationToken).ConfigureAwait(false);
        if (!response.IsValidResponse)
        {
            throw _errors.Translate(response, operation);
        }
    }

    private ValueTask BeginAsync(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return _createIndex && !_indexEnsured ? new ValueTask(EnsureIndexAsync(cancellationToken)) : ValueTask.CompletedTask;
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>A record read from the index, with its expiry in milliseconds and its concurrency token.</summary>
    private sealed record Stored(SessionRecord Record, long ExpiresAtMs, ElasticsearchConcurrencyToken Token);

    /// <summary>What a write is conditional on: nothing, <c>op_type=create</c>, or a read's <c>if_seq_no</c>/<c>if_primary_term</c>.</summary>
    internal readonly record struct Precondition(bool Create, ElasticsearchConcurrencyToken? Token)
    {
        public static Precondition None => default;

        public static Precondition Absent => new(true, null);

        public static Precondition On(ElasticsearchConcurrencyToken token) => new(false, token);
    }
}
