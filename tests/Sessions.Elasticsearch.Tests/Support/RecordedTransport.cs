using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Elastic.Clients.Elasticsearch;
using Elastic.Transport;

namespace Sessions.Elasticsearch.Tests.Support;

/// <summary>One request as the client serialized it.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Uri">The full URI, with the query string.</param>
/// <param name="Body">The body as sent, or <see langword="null"/> for none.</param>
internal sealed record RecordedRequest(string Method, Uri Uri, string? Body)
{
    public string Path => Uri.AbsolutePath;

    public IReadOnlyDictionary<string, string> Query =>
        Uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0]), p => p.Length > 1 ? Uri.UnescapeDataString(p[1]) : string.Empty);

    public JsonNode? Json => Body is null ? null : JsonNode.Parse(Body);

    public override string ToString() => $"{Method} {Uri.PathAndQuery} {Body}";
}

/// <summary>A canned answer: the HTTP status and the JSON body Elasticsearch documents for it.</summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="Body">The JSON body.</param>
internal sealed record CannedResponse(int Status, string Body);

/// <summary>
/// The client's own in-memory transport (Elastic.Transport's <see cref="InMemoryRequestInvoker"/>), answering each request
/// with the next canned response in order, and the requests the client serialized, captured through the client's
/// <c>OnRequestCompleted</c> hook with direct streaming off (so the body bytes are kept). Nothing listens on a socket.
/// </summary>
internal sealed class RecordedTransport
{
    private readonly ConcurrentQueue<CannedResponse> _responses = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    public RecordedTransport(params CannedResponse[] responses)
    {
        foreach (var response in responses)
        {
            _responses.Enqueue(response);
        }

        var settings = new ElasticsearchClientSettings(new SingleNodePool(new Uri("http://127.0.0.1:9200")), new ScriptedInvoker(this))
            .DisableDirectStreaming()
            .OnRequestCompleted(details => _requests.Enqueue(new RecordedRequest(
                details.HttpMethod.ToString().ToUpperInvariant(),
                details.Uri ?? new Uri("http://unknown"),
                details.RequestBodyInBytes is { Length: > 0 } body ? Encoding.UTF8.GetString(body) : null)));
        Client = new ElasticsearchClient(settings);
    }

    public ElasticsearchClient Client { get; }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public int Unanswered => _responses.Count;

    private CannedResponse Next() =>
        _responses.TryDequeue(out var next) ? next : throw new InvalidOperationException("The test queued no response for this request.");

    // Answers through InMemoryRequestInvoker.BuildResponse(Async), which runs the client's own response pipeline (status
    // handling, error parsing, deserialization, OnRequestCompleted) on the canned bytes.
    private sealed class ScriptedInvoker(RecordedTransport owner) : IRequestInvoker
    {
        // Elasticsearch 7.14 and later send X-Elastic-Product: Elasticsearch on every response; the client checks it.
        private readonly InMemoryRequestInvoker _inMemory = new(
            [], 200, null, "application/json", new Dictionary<string, IEnumerable<string>>(StringComparer.OrdinalIgnoreCase) { ["X-Elastic-Product"] = ["Elasticsearch"] });

        public ResponseFactory ResponseFactory => _inMemory.ResponseFactory;

        public Task<TResponse> RequestAsync<TResponse>(Endpoint endpoint, BoundConfiguration boundConfiguration, PostData? postData, CancellationToken cancellationToken)
            where TResponse : TransportResponse, new()
        {
            var next = owner.Next();
            return _inMemory.BuildResponseAsync<TResponse>(endpoint, boundConfiguration, postData, cancellationToken, Encoding.UTF8.GetBytes(next.Body), next.Status, "application/json");
        }

        public TResponse Request<TResponse>(Endpoint endpoint, BoundConfiguration boundConfiguration, PostData? postData)
            where TResponse : TransportResponse, new()
        {
            var next = owner.Next();
            return _inMemory.BuildResponse<TResponse>(endpoint, boundConfiguration, postData, Encoding.UTF8.GetBytes(next.Body), next.Status, "application/json");
        }

        public void Dispose() => ((IDisposable)_inMemory).Dispose();
    }
}
