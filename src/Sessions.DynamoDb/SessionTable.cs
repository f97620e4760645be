using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;

namespace Sessions.DynamoDb;

/// <summary>
/// Checks that the sessions table exists with the right key schema and, when asked, creates it (on-demand billing) and
/// switches on DynamoDB's time-to-live for the <c>ttl</c> attribute.
/// </summary>
internal sealed partial class SessionTable(IAmazonDynamoDB client, DynamoDbErrors errors, bool create, ILogger logger)
{
    // A new table is usually active within seconds; the limit only stops a start-up that would otherwise hang.
    private static readonly TimeSpan s_activeTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Whether the last <see cref="EnsureAsync"/> created the table.</summary>
    public bool Created { get; private set; }

    /// <summary>Throws <see cref="DynamoDbSessionException"/> unless the table is usable (after creating it, when allowed).</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        var table = await DescribeAsync(cancellationToken);
        if (table is null)
        {
            if (!create)
            {
                throw errors.TableMissing();
            }

            table = await CreateAsync(cancellationToken);
        }

        CheckKeySchema(table);
        if (table.TableStatus != TableStatus.ACTIVE)
        {
            await WaitUntilActiveAsync(cancellationToken);
        }

        if (Created)
        {
            await EnableTimeToLiveAsync(cancellationToken);
        }
    }

    /// <summary>Describes the table, or returns <see langword="null"/> when it does not exist.</summary>
    public async Task<TableDescription?> DescribeAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await client.DescribeTableAsync(new DescribeTableRequest { TableName = errors.Table }, cancellationToken)).Table;
        }
        catch (ResourceNotFoundException)
        {
            return null;
        }
    }

    private void CheckKeySchema(TableDescription table)
    {
        var keys = table.KeySchema ?? [];
        var types = (table.AttributeDefinitions ?? []).ToDictionary(a => a.AttributeName, a => a.AttributeType?.Value, StringComparer.Ordinal);
        var ok = keys.Count == 1
            && keys[0].KeyType == KeyType.HASH
            && keys[0].AttributeName == SessionItem.KeyAttribute
            && types.TryGetValue(SessionItem.KeyAttribute, out var type) && type == ScalarAttributeType.S.Value;
        if (!ok)
        {
            var actual = keys.Count == 0
                ? "(none)"
                : string.Join(", ", keys.Select(k => $"{k.AttributeName} ({(types.TryGetValue(k.AttributeName, out var t) ? t : "?")}, {k.KeyType?.Value})"));
            throw errors.WrongKeySchema(actual);
        }
    }

    private async Task<TableDescription> CreateAsync(CancellationToken cancellationToken)
    {
        try
        {
            var response = await client.CreateTableAsync(
                new CreateTableRequest
                {
                    TableName = errors.Table,
                    BillingMode = BillingMode.PAY_PER_REQUEST,
                    KeySchema = [new KeySchemaElement(SessionItem.KeyAttribute, KeyType.HASH)],
                    AttributeDefinitions = [new AttributeDefinition(SessionItem.KeyAttribute, ScalarAttributeType.S)],
                },
                cancellationToken);
            Created = true;
            Log.TableCreated(logger, errors.Table, errors.Endpoint);
            return response.TableDescription;
        }
        catch (ResourceInUseException)
        {
            // Another instance created it a moment ago: use theirs.
            return await DescribeAsync(cancellationToken) ?? throw errors.TableMissing();
        }
    }

    private async Task WaitUntilActiveAsync(CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        var poll = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            var table = await DescribeAsync(cancellationToken) ?? throw errors.TableMissing();
            if (table.TableStatus == TableStatus.ACTIVE)
            {
                return;
            }

            if (TimeProvider.System.GetElapsedTime(started) > s_activeTimeout)
            {
                throw errors.Failure(
                    $"DynamoDB table '{errors.Table}' at {errors.Endpoint} is still {table.TableStatus?.Value} after {s_activeTimeout.TotalMinutes} minutes; check it in the console, then restart.");
            }

            await Task.Delay(poll, cancellationToken);
            poll = TimeSpan.FromMilliseconds(Math.Min(poll.TotalMilliseconds * 2, 1000));
        }
    }

    private async Task EnableTimeToLiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            await client.UpdateTimeToLiveAsync(
                new UpdateTimeToLiveRequest
                {
                    TableName = errors.Table,
                    TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = SessionItem.TtlAttribute, Enabled = true },
                },
                cancellationToken);
            Log.TimeToLiveEnabled(logger, errors.Table);
        }
        catch (AmazonServiceException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Some local endpoints (dynalite) do not implement UpdateTimeToLive. Sessions stay correct without it, because
            // every read and condition checks expires_ms; expired items just stay until a purge deletes them.
            Log.TimeToLiveNotEnabled(logger, e, errors.Table, errors.Endpoint, e.ErrorCode ?? e.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Created DynamoDB table '{Table}' at {Endpoint} for sessions (on-demand billing).")]
        public static partial void TableCreated(ILogger logger, string table, string endpoint);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Enabled DynamoDB time-to-live on attribute 'ttl' of table '{Table}'.")]
        public static partial void TimeToLiveEnabled(ILogger logger, string table);

        [LoggerMessage(
            EventId = 3,
            Level = LogLevel.Warning,
            Message = "Could not enable DynamoDB time-to-live on table '{Table}' at {Endpoint} ({ErrorCode}). Sessions still expire on time (reads check the expiry), " +
                "but expired items stay in the table until IExpiredSessionPurger runs (SessionOptions.PurgeInterval) or TTL is enabled on attribute 'ttl'.")]
        public static partial void TimeToLiveNotEnabled(ILogger logger, Exception exception, string table, string endpoint, string errorCode);
    }
}
