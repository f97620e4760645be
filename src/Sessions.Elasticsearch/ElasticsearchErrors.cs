using Elastic.Transport.Products.Elasticsearch;

namespace Sessions.Elasticsearch;

/// <summary>Reads Elasticsearch's answers: which mean "condition failed", which "not found", and which are failures to report with what to set.</summary>
internal sealed class ElasticsearchErrors(string url, string index)
{
    // Error types and statuses from the Elasticsearch REST API reference ("Index API", "Get API", "Common options: errors").
    public const string VersionConflict = "version_conflict_engine_exception";
    public const string IndexNotFound = "index_not_found_exception";
    public const string IndexAlreadyExists = "resource_already_exists_exception";

    public string Url { get; } = url;

    public string Index { get; } = index;

    /// <summary>The HTTP status of the answer; <see langword="null"/> when no answer came (connection refused, timeout).</summary>
    public static int? Status(ElasticsearchResponse response) => response.ApiCallDetails?.HttpStatusCode;

    /// <summary>Elasticsearch's error type, when the answer carried an error body.</summary>
    public static string? ErrorType(ElasticsearchResponse response) => response.ElasticsearchServerError?.Error?.Type;

    /// <summary>
    /// Whether a write or delete was refused because its precondition failed: HTTP 409 <c>version_conflict_engine_exception</c>
    /// (the document exists, for <c>op_type=create</c>; or its <c>_seq_no</c>/<c>_primary_term</c> moved on, for <c>if_seq_no</c>).
    /// </summary>
    public static bool IsVersionConflict(ElasticsearchResponse response) =>
        Status(response) == 409 && ErrorType(response) is null or VersionConflict;

    /// <summary>Whether a document-level 404 means "no such document" (the index exists): no error body, or <c>document_missing_exception</c>.</summary>
    public static bool IsDocumentMissing(ElasticsearchResponse response) =>
        Status(response) == 404 && ErrorType(response) is null or "document_missing_exception";

    public ElasticsearchSessionException IndexMissing(Exception? inner = null, int? status = 404) => new(
        $"Elasticsearch index '{Index}' does not exist at {Url}. Create it with the sessions mapping (see the package README), " +
        "or set Sessions:Elasticsearch:CreateIndex=true to have the backend create it at start-up.",
        inner)
    {
        Endpoint = Url,
        Index = Index,
        StatusCode = status,
        ErrorCode = IndexNotFound,
    };

    public SessionPayloadTooLargeException PayloadTooLarge(int payloadBytes, int maxPayloadBytes, string why) => new(
        $"A session record of {payloadBytes} bytes is too large for Elasticsearch at {Url}: {why}. Keep less in the session, or lower " +
        "Sessions:MaxPayloadBytes so that the core refuses it first (the node's http.max_content_length, 100mb by default, bounds one request).")
    {
        PayloadBytes = payloadBytes,
        MaxPayloadBytes = maxPayloadBytes,
    };

    /// <summary>An exception for an answer that is neither success nor a failed condition.</summary>
    public Exception Translate(ElasticsearchResponse response, string operation, int? payloadBytes = null, int maxPayloadBytes = 0)
    {
        operation = operation.Replace("{index}", Index, StringComparison.Ordinal);
        var status = Status(response);
        var type = ErrorType(response);
        var reason = response.ElasticsearchServerError?.Error?.Reason;
        response.TryGetOriginalException(out var original);
        switch (status)
        {
            case null:
                return Failure(
                    $"Could not reach Elasticsearch at {Url} for the {operation} on index '{Index}': {StoreErrors.Innermost(original)?.Message ?? "no response"}. " +
                    "Is the node running and reachable? Set Sessions:Elasticsearch:Url (raise Sessions:Elasticsearch:RequestTimeout if it is only slow).",
                    original, status, type);

            case 401:
                return Failure(
                    $"Elasticsearch at {Url} rejected the credentials for the {operation} on index '{Index}' (401{(type is null ? string.Empty : " " + type)}). " +
                    "Set Sessions:Elasticsearch:ApiKey, or Sessions:Elasticsearch:Username and Password, to valid credentials.",
                    original, status, type);

            case 403:
                return Failure(
                    $"Elasticsearch at {Url} does not allow these credentials the {operation} on index '{Index}' (403{(type is null ? string.Empty : " " + type)}: {reason}). " +
                    "Grant the user or API key the read, write, delete and view_index_metadata privileges on the index (and create_index with " +
                    "Sessions:Elasticsearch:CreateIndex), or set credentials that have them.",
                    original, status, type);

            case 404 when type == IndexNotFound:
                return IndexMissing(original);

            case 413:
                return PayloadTooLarge(payloadBytes ?? 0, maxPayloadBytes, "it answered 413 Request Entity Too Large (the request exceeds http.max_content_length)");

            case 429:
                return Failure(
                    $"Elasticsearch at {Url} is overloaded and rejected the {operation} on index '{Index}' (429{(type is null ? string.Empty : " " + type)}: {reason}). " +
                    "Retry later, or give the cluster more capacity.",
                    original, status, type);

            default:
                return Failure(
                    $"The {operation} on Elasticsearch index '{Index}' at {Url} failed (HTTP {status}{(type is null ? string.Empty : " " + type)}): {reason ?? original?.Message ?? "no details"}",
                    original, status, type);
        }
    }

    private ElasticsearchSessionException Failure(string message, Exception? inner, int? status, string? type) =>
        new(message, inner) { Endpoint = Url, Index = Index, StatusCode = status, ErrorCode = type };
}
