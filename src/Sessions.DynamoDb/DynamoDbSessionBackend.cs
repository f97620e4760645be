using System.Runtime.CompilerServices;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sessions.Backends;

namespace Sessions.DynamoDb;

/// <summary>
/// A backend that stores one item per session in an Amazon DynamoDB table (or a compatible endpoint such as DynamoDB Local
/// or dynalite), through AWSSDK.DynamoDBv2.
/// </summary>
/// <remarks>
/// <para>Item: <c>pk</c> (S, the storage key), <c>payload</c> (B), <c>version</c> (N), <c>expires_ms</c> (N, the exact expiry in
/// Unix milliseconds) and <c>ttl</c> (N, Unix seconds rounded up, for DynamoDB's time-to-live). Reads are strongly consistent
/// and check <c>expires_ms</c>, because DynamoDB deletes expired items lazily, often hours late.</para>
/// <para>Conditional writes are single conditional requests (<c>PutItem</c>, <c>UpdateItem</c>, <c>DeleteItem</c> with a
/// <c>ConditionExpression</c>), so DynamoDB makes them atomic; every condition treats an expired item as absent. A failed
/// condition is a clean <see langword="false"/>. Throttling and other errors surface, after the SDK's retries, as
/// <see cref="DynamoDbSessionException"/>.</para>
/// <para>At start-up (<see cref="InitializeAsync"/>, which the engine runs) or on first use the table is checked: a missing table or a
/// wrong key schema fails with a message that says what to set; with <see cref="DynamoDbSessionBackendOptions.CreateTable"/>
/// a missing table is created.</para>
/// <para>Key listing and the purge scan the whole table (paginated), so they cost read capacity in proportion to its size.</para>
/// </remarks>
public sealed class DynamoDbSessionBackend
    : ISessionBackend, ISessionBackendInitializer, ISessionBackendLimits, ISessionKeyEnumerator, IExpiredSessionPurger, ISessionBackendHealthProbe, IAsyncDisposable, IDisposable
{
    // Conditional deletes the purge keeps in flight at once.
    private const int PurgeParallelism = 8;

    private readonly IAmazonDynamoDB _client;
    private readonly bool _ownsClient;
    private readonly TimeProvider _time;
    private readonly DynamoDbErrors _errors;
    private readonly SessionTable _table;
    private readonly SemaphoreSlim _tableCheck = new(1, 1);
    private volatile bool _tableChecked;
    private int _disposed;

    /// <summary>Creates the backend with a client of its own, built from <see cref="DynamoDbSessionBackendOptions.ServiceUrl"/> and <see cref="DynamoDbSessionBackendOptions.Region"/>; disposing the backend disposes it.</summary>
    /// <param name="options">The table and how to reach DynamoDB.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <param name="logger">Logs table creation; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which and why.</exception>
    public DynamoDbSessionBackend(DynamoDbSessionBackendOptions options, TimeProvider? timeProvider = null, ILogger<DynamoDbSessionBackend>? logger = null)
        : this(DynamoDbClientFactory.Create(Validated(options)), ownsClient: true, options, timeProvider, logger)
    {
    }

    /// <summary>Creates the backend on a client the caller owns (for example the <c>IAmazonDynamoDB</c> registered in DI); disposing the backend leaves it open.</summary>
    /// <param name="client">The SDK client. Its retry and timeout settings apply.</param>
    /// <param name="options">The table (and <see cref="DynamoDbSessionBackendOptions.CreateTable"/>); the client settings in it are ignored.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <param name="logger">Logs table creation; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which and why.</exception>
    public DynamoDbSessionBackend(IAmazonDynamoDB client, DynamoDbSessionBackendOptions options, TimeProvider? timeProvider = null, ILogger<DynamoDbSessionBackend>? logger = null)
        : this(client ?? throw new ArgumentNullException(nameof(client)), ownsClient: false, Validated(options), timeProvider, logger)
    {
    }

    private DynamoDbSessionBackend(IAmazonDynamoDB client, bool ownsClient, DynamoDbSessionBackendOptions options, TimeProvider? timeProvider, ILogger? logger)
    {
        _client = client;
        _ownsClient = ownsClient;
        _time = timeProvider ?? TimeProvider.System;
        _errors = new DynamoDbErrors(options.Table, DynamoDbClientFactory.Describe(client));
        _table = new SessionTable(client, _errors, options.CreateTable, logger ?? NullLogger.Instance);
    }

    /// <summary>The table the sessions are stored in.</summary>
    public string Table => _errors.Table;

    /// <summary>The endpoint the client calls: its service URL, or its region's public endpoint.</summary>
    public string Endpoint => _errors.Endpoint;

    /// <summary>
    /// The largest payload one item holds: DynamoDB's 400 KB item limit (409,600 bytes, counting attribute names and
    /// values; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html) less the other
    /// attributes and the longest storage key (250 bytes). The core refuses a larger session with 413 before writing.
    /// </summary>
    public int MaxPayloadBytes => SessionItem.MaxPayloadBytes(SessionKeys.MaxKeyLength);

    /// <summary>Scan page size (items evaluated per page); <see langword="null"/> for DynamoDB's 1 MB pages. Tests set it to force paging.</summary>
    internal int? ScanPageSize { get; set; }

    /// <summary>
    /// Checks the table now rather than on first use: it must exist (or is created, with
    /// <see cref="DynamoDbSessionBackendOptions.CreateTable"/>) and have the key schema sessions need. Runs once per instance
    /// when it succeeds; a failure is retried on the next call. The engine calls it at start-up (<see cref="InitializeAsync"/>).
    /// </summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>A task that completes when the table is usable.</returns>
    /// <exception cref="DynamoDbSessionException">The table is missing or shaped wrongly, or DynamoDB could not be reached.</exception>
    public async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (_tableChecked)
        {
            return;
        }

        await _tableCheck.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_tableChecked)
            {
                await _table.EnsureAsync(cancellationToken).ConfigureAwait(false);
                _tableChecked = true;
            }
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, "table check");
        }
        finally
        {
            _tableCheck.Release();
        }
    }

    /// <summary>Checks (or creates) the table: <see cref="EnsureTableAsync"/>. The engine calls it when the host starts with this backend in force.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>A task that completes when the table is usable.</returns>
    /// <exception cref="DynamoDbSessionException">The table is missing or shaped wrongly, or DynamoDB could not be reached.</exception>
    public ValueTask InitializeAsync(CancellationToken cancellationToken) => new(EnsureTableAsync(cancellationToken));

    /// <inheritdoc />
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        var request = new GetItemRequest { TableName = Table, Key = SessionItem.Key(key), ConsistentRead = true };
        var response = await CallAsync(ct => _client.GetItemAsync(request, ct), "read (GetItem)", cancellationToken).ConfigureAwait(false);

        if (response.Item is not { Count: > 0 } item)
        {
            return null;
        }

        // An item that is not a session record (written by another app, or damaged) is a corrupt record, not a miss.
        var record = SessionItem.Decode(item) ?? throw new SessionRecordCorruptException(
            $"The item under \"{key}\" in DynamoDB table '{Table}' is not a session record (it needs numeric '{SessionItem.VersionAttribute}' and " +
            $"'{SessionItem.ExpiresMsAttribute}' attributes and a binary '{SessionItem.PayloadAttribute}'; it has {string.Join(", ", item.Keys.Order(StringComparer.Ordinal))}). " +
            "Another application may be writing items with the same key prefix; give sessions their own SessionOptions.KeyPrefix.")
        { Key = key };

        // DynamoDB's time-to-live deletes lazily, so an expired item may still be there.
        return record.ExpiresAt > _time.GetUtcNow() ? record : null;
    }

    /// <inheritdoc />
    /// <exception cref="DynamoDbSessionException">The record does not fit in one item (400 KB), or DynamoDB failed.</exception>
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ArgumentNullException.ThrowIfNull(record);
        if (SessionItem.IsTooLarge(key, record))
        {
            throw _errors.PayloadTooLarge(key, record.Payload.Length);
        }

        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        var request = new PutItemRequest { TableName = Table, Item = SessionItem.Encode(key, record) };
        if (SessionConditions.For(condition) is { } expression)
        {
            var withVersion = condition.Kind == SetConditionKind.IfVersion;
            request.ConditionExpression = expression;
            request.ExpressionAttributeNames = SessionConditions.Names(withVersion);
            request.ExpressionAttributeValues = SessionConditions.Values(NowMs(), withVersion ? condition.ExpectedVersion : null);
        }

        return await ConditionalAsync(ct => _client.PutItemAsync(request, ct), "write (PutItem)", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>An expired item is not deleted (it counts as absent, so the call returns <see langword="false"/>); time-to-live or the purge removes it.</remarks>
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        var request = new DeleteItemRequest
        {
            TableName = Table,
            Key = SessionItem.Key(key),
            ConditionExpression = expectedVersion is null ? SessionConditions.Live : SessionConditions.LiveWithVersion,
            ExpressionAttributeNames = SessionConditions.Names(expectedVersion is not null),
            ExpressionAttributeValues = SessionConditions.Values(NowMs(), expectedVersion),
        };

        return await ConditionalAsync(ct => _client.DeleteItemAsync(request, ct), "delete (DeleteItem)", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>One <c>UpdateItem</c> that sets <c>expires_ms</c> and <c>ttl</c> only: the payload is not sent again.</remarks>
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        var expiresMs = SessionItem.ExpiresMs(expiresAt);
        var names = SessionConditions.Names(withVersion: false);
        names["#ttl"] = SessionItem.TtlAttribute;
        var values = SessionConditions.Values(NowMs());
        values[":exp"] = SessionItem.Number(expiresMs);
        values[":ttl"] = SessionItem.Number(SessionItem.TtlSeconds(expiresMs));
        var request = new UpdateItemRequest
        {
            TableName = Table,
            Key = SessionItem.Key(key),
            UpdateExpression = "SET #exp = :exp, #ttl = :ttl",
            ConditionExpression = SessionConditions.Live,
            ExpressionAttributeNames = names,
            ExpressionAttributeValues = values,
        };

        return await ConditionalAsync(ct => _client.UpdateItemAsync(request, ct), "touch (UpdateItem)", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>A paginated, strongly consistent <c>Scan</c> of the whole table, filtered by <c>begins_with</c> and expiry: its cost grows with the table, whatever the prefix.</remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);

        var filter = prefix.Length == 0 ? SessionConditions.Live : "begins_with(#pk, :prefix) AND " + SessionConditions.Live;
        Dictionary<string, AttributeValue>? startKey = null;
        do
        {
            ThrowIfDisposed();
            var values = SessionConditions.Values(NowMs());
            if (prefix.Length > 0)
            {
                values[":prefix"] = new AttributeValue { S = prefix };
            }

            var page = await ScanAsync(filter, values, startKey, "key listing (Scan)", cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items ?? [])
            {
                if (item.TryGetValue(SessionItem.KeyAttribute, out var key) && key.S is { } s)
                {
                    yield return s;
                }
            }

            startKey = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (startKey is not null);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A paginated <c>Scan</c> for expired items, each then deleted with a conditional <c>DeleteItem</c> (so an item touched or
    /// rewritten since the scan is kept, and each deletion is counted once). With DynamoDB's time-to-live enabled on <c>ttl</c>
    /// the purge is optional: set <c>SessionOptions.PurgeInterval</c> to <see langword="null"/> to save the scans.
    /// </remarks>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);

        long purged = 0;
        Dictionary<string, AttributeValue>? startKey = null;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = PurgeParallelism, CancellationToken = cancellationToken };
        do
        {
            ThrowIfDisposed();
            var page = await ScanAsync(SessionConditions.Expired, SessionConditions.Values(NowMs()), startKey, "purge (Scan)", cancellationToken).ConfigureAwait(false);
            var keys = (page.Items ?? []).Select(i => i.TryGetValue(SessionItem.KeyAttribute, out var k) ? k.S : null).OfType<string>();
            await Parallel.ForEachAsync(keys, parallel, async (key, ct) =>
            {
                if (await DeleteIfExpiredAsync(key, ct).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref purged);
                }
            }).ConfigureAwait(false);
            startKey = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (startKey is not null);

        return purged;
    }

    /// <inheritdoc />
    /// <remarks>A <c>DescribeTable</c>: fails when DynamoDB cannot be reached or the table is missing.</remarks>
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        _ = await CallAsync(_table.DescribeAsync, "health probe (DescribeTable)", cancellationToken).ConfigureAwait(false) ?? throw _errors.TableMissing();
    }

    /// <summary>Marks the backend disposed and, when it built its own client, disposes that client. Idempotent.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Same as <see cref="DisposeAsync"/>; offered too so that a container disposed synchronously can dispose the backend.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_ownsClient)
        {
            _client.Dispose();
        }

        // _tableCheck is left alone: a table check still in flight releases it, and it holds no kernel handle.
    }

    private static DynamoDbSessionBackendOptions Validated(DynamoDbSessionBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? options : throw new ArgumentException(string.Join(" ", errors), nameof(options));
    }

    private ValueTask BeginAsync(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return _tableChecked ? ValueTask.CompletedTask : new ValueTask(EnsureTableAsync(cancellationToken));
    }

    private async Task<ScanResponse> ScanAsync(
        string filter, Dictionary<string, AttributeValue> values, Dictionary<string, AttributeValue>? startKey, string operation, CancellationToken cancellationToken)
    {
        var names = SessionConditions.Names(withVersion: false);
        names["#pk"] = SessionItem.KeyAttribute;
        var request = new ScanRequest
        {
            TableName = Table,
            ConsistentRead = true,
            ProjectionExpression = "#pk",
            FilterExpression = filter,
            ExpressionAttributeNames = names,
            ExpressionAttributeValues = values,
            ExclusiveStartKey = startKey,
        };
        if (ScanPageSize is { } limit)
        {
            request.Limit = limit;
        }

        return await CallAsync(ct => _client.ScanAsync(request, ct), operation, cancellationToken).ConfigureAwait(false);
    }

    // Touched, rewritten or deleted since the scan: the condition fails and the item is kept.
    private Task<bool> DeleteIfExpiredAsync(string key, CancellationToken cancellationToken)
    {
        var request = new DeleteItemRequest
        {
            TableName = Table,
            Key = SessionItem.Key(key),
            ConditionExpression = SessionConditions.Expired,
            ExpressionAttributeNames = SessionConditions.Names(withVersion: false),
            ExpressionAttributeValues = SessionConditions.Values(NowMs()),
        };
        return ConditionalAsync(ct => _client.DeleteItemAsync(request, ct), "purge (DeleteItem)", cancellationToken);
    }

    // One call to DynamoDB; what it throws, after the SDK's retries, becomes a DynamoDbSessionException that says what to do.
    private async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, string operation, CancellationToken cancellationToken)
    {
        try
        {
            return await call(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not ConditionalCheckFailedException && StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, operation);
        }
    }

    // A conditional write: true when DynamoDB applied it, false when its condition failed.
    private async Task<bool> ConditionalAsync<T>(Func<CancellationToken, Task<T>> write, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync(write, operation, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
