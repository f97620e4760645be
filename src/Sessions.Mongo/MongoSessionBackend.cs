using System.Runtime.CompilerServices;
using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Backends;

namespace Sessions.Mongo;

/// <summary>
/// A backend that stores one document per session in a MongoDB collection, through the official MongoDB.Driver.
/// </summary>
/// <remarks>
/// <para>Document: <c>{ _id: key, payload: binary, version: long, expiresAt: date }</c>. A document is live while
/// <c>expiresAt &gt; now</c>, <c>now</c> coming from the backend's <see cref="TimeProvider"/>; reads check it, because
/// MongoDB's TTL monitor deletes expired documents only about once a minute.</para>
/// <para>Every conditional operation is one server command with its condition in the filter, so MongoDB applies the
/// condition and the write atomically: <c>IfAbsent</c> is an upserting replace on <c>{ _id, expiresAt &lt;= now }</c> (a live
/// document makes the insert collide on <c>_id</c>, error 11000, reported as "not written"); <c>IfVersion</c> a replace on
/// <c>{ _id, version, expiresAt &gt; now }</c>; the conditional delete and the touch likewise. No operation reads first.</para>
/// <para>The TTL index (<c>{ expiresAt: 1 }</c>, <c>expireAfterSeconds: 0</c>) is created only on request:
/// <see cref="EnsureIndexesAsync"/> or <see cref="MongoSessionBackendOptions.CreateIndexes"/>. Without it, expired documents
/// stay until <see cref="PurgeExpiredAsync"/> deletes them, and listing and purging scan the collection.</para>
/// </remarks>
public sealed class MongoSessionBackend
    : ISessionBackend, ISessionBackendInitializer, ISessionKeyEnumerator, IExpiredSessionPurger, ISessionBackendHealthProbe, ISessionBackendLimits, IAsyncDisposable, IDisposable
{
    private static readonly ReplaceOptions s_upsert = new() { IsUpsert = true };
    private static readonly ReplaceOptions s_noUpsert = new() { IsUpsert = false };

    private readonly IMongoClient? _ownedClient;
    private readonly IMongoDatabase _database;
    private readonly TimeProvider _time;
    private readonly MongoErrors _errors;
    private readonly bool _createIndexes;
    private readonly int _batchSize;
    private volatile bool _indexesEnsured;
    private int _disposed;

    /// <summary>Creates the backend with a <see cref="MongoClient"/> of its own, built from <see cref="MongoSessionBackendOptions.ConnectionString"/>; disposing the backend disposes it.</summary>
    /// <param name="options">The connection string, database and collection.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which and why.</exception>
    public MongoSessionBackend(MongoSessionBackendOptions options, TimeProvider? timeProvider = null)
        : this(OwnClient(options), owned: true, Validated(options, storeSupplied: false, databaseSupplied: false), timeProvider)
    {
    }

    /// <summary>Creates the backend on a client the caller owns (for example the <see cref="IMongoClient"/> registered in DI); disposing the backend leaves it open.</summary>
    /// <param name="client">The driver's client; its connection pool, timeouts and retry settings apply.</param>
    /// <param name="options">The database and collection; <see cref="MongoSessionBackendOptions.ConnectionString"/> is used only to find the database name.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which and why.</exception>
    public MongoSessionBackend(IMongoClient client, MongoSessionBackendOptions options, TimeProvider? timeProvider = null)
        : this(client ?? throw new ArgumentNullException(nameof(client)), owned: false, Validated(options, storeSupplied: true, databaseSupplied: false), timeProvider)
    {
    }

    /// <summary>Creates the backend on a database the caller owns; disposing the backend leaves its client open.</summary>
    /// <param name="database">The database that holds the collection; its read and write concerns apply (the defaults are right: primary reads, acknowledged writes).</param>
    /// <param name="options">The collection; the connection settings in it are ignored.</param>
    /// <param name="timeProvider">The clock that decides expiry; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentException">The options are invalid, or the database's write concern is unacknowledged (<c>w=0</c>).</exception>
    public MongoSessionBackend(IMongoDatabase database, MongoSessionBackendOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        Validated(options, storeSupplied: true, databaseSupplied: true);
        _database = database;
        _time = timeProvider ?? TimeProvider.System;
        _createIndexes = options.CreateIndexes;
        _batchSize = options.BatchSize;
        Collection = database.GetCollection<BsonDocument>(options.Collection);
        _errors = new MongoErrors(DescribeServers(database.Client), database.DatabaseNamespace.DatabaseName, options.Collection);
        if (!Collection.Settings.WriteConcern.IsAcknowledged)
        {
            throw new ArgumentException(
                $"Sessions need acknowledged writes, but {_errors.Namespace} has write concern {Collection.Settings.WriteConcern}: with w=0 MongoDB " +
                "cannot report whether a conditional write applied. Remove w=0 from Sessions:Mongo:ConnectionString (or from the client or database handed over).",
                nameof(database));
        }
    }

    private MongoSessionBackend(IMongoClient client, bool owned, MongoSessionBackendOptions options, TimeProvider? timeProvider)
        : this(client.GetDatabase(options.EffectiveDatabase()), options, timeProvider)
    {
        _ownedClient = owned ? client : null;
    }

    /// <summary>The collection the sessions are stored in.</summary>
    public IMongoCollection<BsonDocument> Collection { get; }

    /// <summary>
    /// The largest payload one document holds, in bytes: MongoDB's 16 MiB BSON document limit (<c>maxBsonObjectSize</c>) less
    /// 1 KiB for the key, the other fields and the framing.
    /// </summary>
    public int MaxPayloadBytes => MongoSessionDocument.MaxPayloadBytes;

    /// <summary>
    /// Creates the TTL index <c>{ expiresAt: 1 }</c> with <c>expireAfterSeconds: 0</c> (named <c>expiresAt_ttl</c>), so that
    /// MongoDB deletes expired sessions by itself (its TTL monitor runs about once a minute) and listing and purging use it.
    /// Idempotent: MongoDB does nothing when the same index exists. Needs the <c>createIndex</c> privilege.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the index exists.</returns>
    /// <exception cref="MongoSessionException">MongoDB could not be reached, refused the credentials or the privilege, or has a different index of that name.</exception>
    public async Task EnsureIndexesAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (_indexesEnsured)
        {
            return;
        }

        // No lock: concurrent first calls may each send createIndexes, which MongoDB applies once; after a success, calls skip it.
        try
        {
            await Collection.Indexes.CreateOneAsync(MongoSessionCommands.TtlIndex, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, "creation of the TTL index (createIndexes)");
        }

        _indexesEnsured = true;
    }

    /// <summary>
    /// Creates the TTL index (<see cref="EnsureIndexesAsync"/>) when <see cref="MongoSessionBackendOptions.CreateIndexes"/> is
    /// set; otherwise does nothing. The engine calls it when the host starts with this backend in force, so that a missing
    /// privilege stops the app with a clear message.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the index exists, or at once without <see cref="MongoSessionBackendOptions.CreateIndexes"/>.</returns>
    /// <exception cref="MongoSessionException">MongoDB could not be reached, or refused the credentials or the privilege.</exception>
    public ValueTask InitializeAsync(CancellationToken cancellationToken) =>
        _createIndexes ? new(EnsureIndexesAsync(cancellationToken)) : ValueTask.CompletedTask;

    /// <inheritdoc />
    /// <exception cref="SessionRecordCorruptException">The document under the key is not a session record.</exception>
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        BsonDocument? document;
        try
        {
            document = await Collection.Find(MongoSessionCommands.ById(key)).Limit(1).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, "read (find)");
        }

        if (document is null)
        {
            return null;
        }

        var record = MongoSessionDocument.Decode(key, document);
        return record.ExpiresAt > _time.GetUtcNow() ? record : null;
    }

    /// <inheritdoc />
    /// <exception cref="SessionPayloadTooLargeException">The record does not fit in one document (see <see cref="MaxPayloadBytes"/>).</exception>
    /// <exception cref="MongoSessionException">MongoDB failed; the message says what to check.</exception>
    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        ArgumentNullException.ThrowIfNull(record);
        if (record.Payload.Length > MaxPayloadBytes)
        {
            throw _errors.PayloadTooLarge(record.Payload.Length);
        }

        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        var document = MongoSessionDocument.Encode(key, record);
        var now = _time.GetUtcNow();
        try
        {
            switch (condition.Kind)
            {
                case SetConditionKind.IfAbsent:
                    await Collection.ReplaceOneAsync(MongoSessionCommands.IfAbsent(key, now), document, s_upsert, cancellationToken).ConfigureAwait(false);
                    return true; // matched an expired document, or inserted

                case SetConditionKind.IfVersion:
                    // MongoDB has no token to carry (condition.ConcurrencyToken is ignored): the version is the condition.
                    var replaced = await Collection.ReplaceOneAsync(
                        MongoSessionCommands.LiveWithVersion(key, condition.ExpectedVersion, now), document, s_noUpsert, cancellationToken).ConfigureAwait(false);
                    return replaced.MatchedCount == 1;

                default:
                    await Collection.ReplaceOneAsync(MongoSessionCommands.ById(key), document, s_upsert, cancellationToken).ConfigureAwait(false);
                    return true;
            }
        }
        catch (Exception e) when (condition.Kind == SetConditionKind.IfAbsent && MongoErrors.IsDuplicateKey(e))
        {
            return false; // a live document holds the key
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, "write (replace)", record.Payload.Length);
        }
    }

    /// <inheritdoc />
    /// <remarks>One <c>delete</c> with the condition in its filter; an expired document is left for the TTL index or the purge.</remarks>
    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var filter = expectedVersion is { } version ? MongoSessionCommands.LiveWithVersion(key, version, now) : MongoSessionCommands.Live(key, now);
        try
        {
            var result = await Collection.DeleteOneAsync(filter, cancellationToken).ConfigureAwait(false);
            return result.DeletedCount == 1;
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, "delete");
        }
    }

    /// <inheritdoc />
    /// <remarks>One <c>update</c>: <c>{ _id, expiresAt &gt; now }</c>, <c>$set expiresAt</c>; payload and version are untouched.</remarks>
    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await BeginAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await Collection.UpdateOneAsync(
                MongoSessionCommands.Live(key, _time.GetUtcNow()), MongoSessionCommands.Touch(expiresAt), cancellationToken: cancellationToken).ConfigureAwait(false);
            return result.MatchedCount == 1;
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, "touch (update)");
        }
    }

    /// <inheritdoc />
    /// <remarks>Pages of <see cref="MongoSessionBackendOptions.BatchSize"/> keys in <c>_id</c> order, each a <c>find</c> on an <c>_id</c> range with <c>expiresAt &gt; now</c>.</remarks>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        Begin(cancellationToken);
        string? after = null;
        while (true)
        {
            var page = await FindKeysAsync(MongoSessionCommands.LiveKeys(prefix, after, _time.GetUtcNow()), sorted: true, "key listing (find)", cancellationToken).ConfigureAwait(false);
            foreach (var id in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                after = id.AsString;
                yield return after;
            }

            if (page.Count < _batchSize)
            {
                yield break;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Batches of <see cref="MongoSessionBackendOptions.BatchSize"/>: a <c>find</c> of expired keys, then one <c>delete</c> of
    /// those keys whose <c>expiresAt</c> is still at or before now, so a session touched in between is kept.
    /// </remarks>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        Begin(cancellationToken);
        long purged = 0;
        while (true)
        {
            var ids = await FindKeysAsync(MongoSessionCommands.Expired(_time.GetUtcNow()), sorted: false, "purge (find)", cancellationToken).ConfigureAwait(false);
            if (ids.Count == 0)
            {
                return purged;
            }

            try
            {
                var result = await Collection.DeleteManyAsync(MongoSessionCommands.StillExpired(ids, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
                purged += result.DeletedCount;
            }
            catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
            {
                throw _errors.Translate(e, "purge (delete)");
            }

            if (ids.Count < _batchSize)
            {
                return purged;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>The <c>ping</c> command on the sessions database.</remarks>
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        try
        {
            await _database.RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, "health probe (ping)");
        }
    }

    /// <summary>Marks the backend disposed and, when it built its own client, disposes that client. Idempotent.</summary>
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
            _ownedClient?.Dispose();
        }
    }

    /// <summary>The servers a client connects to, for messages: <c>host:port,host:port</c>.</summary>
    internal static string DescribeServers(IMongoClient client) =>
        client.Settings?.Servers is { } servers ? string.Join(",", servers.Select(s => $"{s.Host}:{s.Port}")) : "(unknown servers)";

    private static MongoSessionBackendOptions Validated(MongoSessionBackendOptions options, bool storeSupplied, bool databaseSupplied)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate(storeSupplied, databaseSupplied);
        return errors.Count == 0 ? options : throw new ArgumentException(string.Join(" ", errors), nameof(options));
    }

    private static MongoClient OwnClient(MongoSessionBackendOptions options) =>
        new(Validated(options, storeSupplied: false, databaseSupplied: false).ConnectionString);

    private async Task<List<BsonValue>> FindKeysAsync(FilterDefinition<BsonDocument> filter, bool sorted, string operation, CancellationToken cancellationToken)
    {
        try
        {
            var find = Collection.Find(filter).Project(MongoSessionCommands.KeyOnly).Limit(_batchSize);
            if (sorted)
            {
                find = find.Sort(MongoSessionCommands.ByKey);
            }

            var documents = await find.ToListAsync(cancellationToken).ConfigureAwait(false);
            return [.. documents.Select(d => d[MongoSessionDocument.Id])];
        }
        catch (Exception e) when (StoreErrors.ShouldWrap(e, cancellationToken))
        {
            throw _errors.Translate(e, operation);
        }
    }

    private ValueTask BeginAsync(string key, CancellationToken cancellationToken)
    {
        SessionKeys.ThrowIfInvalid(key);
        Begin(cancellationToken);
        return _createIndexes && !_indexesEnsured ? new ValueTask(EnsureIndexesAsync(cancellationToken)) : ValueTask.CompletedTask;
    }

    private void Begin(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
