namespace Sessions.Elasticsearch.Tests.Support;

/// <summary>
/// Response bodies in the shapes the Elasticsearch REST API reference documents for each API (Get, Index, Delete, Update,
/// Delete by query, Open point in time, Search, Refresh) and for errors (the <c>error</c> object with <c>root_cause</c>,
/// <c>type</c>, <c>reason</c>, and <c>status</c>).
/// </summary>
internal static class Responses
{
    public static CannedResponse Found(string index, string id, string source, long seqNo = 7, long primaryTerm = 1) => new(
        200,
        $$"""{"_index":"{{index}}","_id":{{Q(id)}},"_version":3,"_seq_no":{{seqNo}},"_primary_term":{{primaryTerm}},"found":true,"_source":{{source}}}""");

    public static CannedResponse NotFound(string index, string id) => new(404, $$"""{"_index":"{{index}}","_id":{{Q(id)}},"found":false}""");

    public static CannedResponse Written(string index, string id, string result = "created", long seqNo = 8) => new(
        result == "created" ? 201 : 200,
        $$"""{"_index":"{{index}}","_id":{{Q(id)}},"_version":1,"result":"{{result}}","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":{{seqNo}},"_primary_term":1}""");

    public static CannedResponse Deleted(string index, string id) => new(
        200,
        $$"""{"_index":"{{index}}","_id":{{Q(id)}},"_version":2,"result":"deleted","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":9,"_primary_term":1}""");

    public static CannedResponse Updated(string index, string id) => new(
        200,
        $$"""{"_index":"{{index}}","_id":{{Q(id)}},"_version":4,"result":"updated","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":10,"_primary_term":1}""");

    public static CannedResponse VersionConflict(string index, string id) => Error(
        409,
        "version_conflict_engine_exception",
        $"[{id}]: version conflict, required seqNo [7], primary term [1]. current document has seqNo [8] and primary term [1]",
        index);

    public static CannedResponse DocumentExists(string index, string id) => Error(
        409,
        "version_conflict_engine_exception",
        $"[{id}]: version conflict, document already exists (current version [1])",
        index);

    public static CannedResponse IndexNotFound(string index) => Error(404, "index_not_found_exception", $"no such index [{index}]", index);

    public static CannedResponse Unauthorized() => Error(401, "security_exception", "unable to authenticate user [sessions] for REST request [/sessions/_doc/k]");

    public static CannedResponse Forbidden() => Error(403, "security_exception", "action [indices:data/write/index] is unauthorized for user [sessions] with effective roles [reader] on indices [sessions]");

    public static CannedResponse TooLarge() => new(413, string.Empty);

    public static CannedResponse Refreshed() => new(200, """{"_shards":{"total":2,"successful":1,"failed":0}}""");

    public static CannedResponse PitOpened(string id) => new(200, $$$"""{"id":"{{{id}}}","_shards":{"total":1,"successful":1,"skipped":0,"failed":0}}""");

    public static CannedResponse PitClosed() => new(200, """{"succeeded":true,"num_freed":1}""");

    public static CannedResponse Hits(string pitId, params string[] keys)
    {
        var hits = string.Join(",", keys.Select((k, i) => $$"""{"_index":"sessions","_id":"{{k}}","_score":null,"sort":["{{k}}",{{i}}]}"""));
        return new(200, $$$"""{"pit_id":"{{{pitId}}}","took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"max_score":null,"hits":[{{{hits}}}]}}""");
    }

    public static CannedResponse DeletedByQuery(long deleted, long conflicts = 0) => new(
        200,
        $$"""{"took":12,"timed_out":false,"total":{{deleted + conflicts}},"deleted":{{deleted}},"batches":1,"version_conflicts":{{conflicts}},"noops":0,"retries":{"bulk":0,"search":0},"throttled_millis":0,"requests_per_second":-1.0,"throttled_until_millis":0,"failures":[]}""");

    /// <summary>A JSON string literal for <paramref name="value"/>, escaped as Elasticsearch would.</summary>
    private static string Q(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    public static CannedResponse Error(int status, string type, string reason, string? index = null)
    {
        var indexPart = index is null ? string.Empty : $$""","index":"{{index}}" """.TrimEnd();
        var cause = $$"""{"type":"{{type}}","reason":"{{reason}}"{{indexPart}}}""";
        return new(status, $$"""{"error":{"root_cause":[{{cause}}],"type":"{{type}}","reason":"{{reason}}"{{indexPart}}},"status":{{status}}}""");
    }
}
