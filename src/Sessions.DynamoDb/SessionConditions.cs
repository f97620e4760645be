using Amazon.DynamoDBv2.Model;
using Sessions.Backends;

namespace Sessions.DynamoDb;

/// <summary>
/// The condition expressions that make writes atomic. DynamoDB's time-to-live deletes expired items lazily (hours later),
/// so every condition treats an item whose <c>expires_ms</c> has passed as absent.
/// </summary>
internal static class SessionConditions
{
    /// <summary>No live item: none at all, not a session item, or expired.</summary>
    public const string Absent = "attribute_not_exists(#exp) OR #exp <= :now";

    /// <summary>A live item.</summary>
    public const string Live = "#exp > :now";

    /// <summary>A live item with the expected version.</summary>
    public const string LiveWithVersion = "#ver = :ver AND #exp > :now";

    /// <summary>An item that has expired (for the purge: a touch or rewrite since the scan saves it).</summary>
    public const string Expired = "#exp <= :now";

    private static readonly Dictionary<string, string> s_expiryName = new() { ["#exp"] = SessionItem.ExpiresMsAttribute };

    private static readonly Dictionary<string, string> s_expiryAndVersionNames = new()
    {
        ["#exp"] = SessionItem.ExpiresMsAttribute,
        ["#ver"] = SessionItem.VersionAttribute,
    };

    /// <summary>The condition for <paramref name="condition"/>, or <see langword="null"/> for an unconditional write.</summary>
    public static string? For(SetCondition condition) => condition.Kind switch
    {
        SetConditionKind.Always => null,
        SetConditionKind.IfAbsent => Absent,
        SetConditionKind.IfVersion => LiveWithVersion,
        _ => throw new ArgumentOutOfRangeException(nameof(condition), condition, "Unknown condition kind."),
    };

    /// <summary>The attribute names an expression uses: a fresh dictionary per request, since requests own theirs.</summary>
    public static Dictionary<string, string> Names(bool withVersion) => withVersion ? new(s_expiryAndVersionNames) : new(s_expiryName);

    /// <summary>The values an expression uses: <c>:now</c>, and <c>:ver</c> when a version is expected.</summary>
    public static Dictionary<string, AttributeValue> Values(long nowMs, long? version = null)
    {
        var values = new Dictionary<string, AttributeValue>(3) { [":now"] = SessionItem.Number(nowMs) };
        if (version is { } v)
        {
            values[":ver"] = SessionItem.Number(v);
        }

        return values;
    }
}
