using System.ComponentModel.DataAnnotations;
using Elastic.Clients.Elasticsearch;

namespace Sessions.Elasticsearch;

/// <summary>Options for <see cref="ElasticsearchSessionBackend"/>, bound from the configuration section <c>Sessions:Elasticsearch</c>.</summary>
public sealed class ElasticsearchSessionBackendOptions : IValidatableObject
{
    /// <summary>The index used when <see cref="Index"/> is not set: <c>sessions</c>.</summary>
    public const string DefaultIndex = "sessions";

    /// <summary>The batch size used when <see cref="BatchSize"/> is not set: 1,000 documents.</summary>
    public const int DefaultBatchSize = 1000;

    /// <summary>The per-request timeout used when <see cref="RequestTimeout"/> is not set: 10 seconds.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The Elasticsearch node to call, for example <c>http://127.0.0.1:9200</c> or <c>https://es.example.com:9243</c>. Used
    /// only when the backend builds its own client: not when an <c>ElasticsearchClient</c> is handed to
    /// <c>AddElasticsearchBackend</c>. When it is not set, the <c>ElasticsearchClient</c> registered in the container is used.
    /// </summary>
    public string? Url { get; set; }

    /// <summary>The index that holds one document per session (default <c>sessions</c>); an Elasticsearch index name (lowercase).</summary>
    public string Index { get; set; } = DefaultIndex;

    /// <summary>
    /// An API key, as the base64 <c>encoded</c> value the create-API-key API returns (sent as <c>Authorization: ApiKey ...</c>).
    /// Set this, or <see cref="Username"/> and <see cref="Password"/>, or neither for a cluster without security.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The user name for basic authentication; requires <see cref="Password"/>. Not with <see cref="ApiKey"/>.</summary>
    public string? Username { get; set; }

    /// <summary>The password for basic authentication, with <see cref="Username"/>.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// When <see langword="true"/>, the backend creates the index with its explicit mapping at start-up (or on first use when
    /// built directly) if it does not exist. Default <see langword="false"/>: the index must exist, and a missing one fails
    /// with a message that says so. Creating an index needs the <c>create_index</c> privilege on it.
    /// </summary>
    public bool CreateIndex { get; set; }

    /// <summary>How long one HTTP request may take before the client gives up (default 10 seconds; more than zero, at most 5 minutes). Used only when the backend builds its own client.</summary>
    public TimeSpan RequestTimeout { get; set; } = DefaultRequestTimeout;

    /// <summary>How many keys one page of key listing returns, and the scroll size of the purge's delete-by-query (default 1,000; 1 to 10,000, the default <c>index.max_result_window</c>).</summary>
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>The client handed to <c>AddElasticsearchBackend</c>, or the one registered in the container when no URL is set.</summary>
    internal ElasticsearchClient? GivenClient { get; set; }

    /// <summary>Checks the options as <see cref="Validate(bool)"/> does, knowing whether <c>AddElasticsearchBackend</c> was given (or found) a client.</summary>
    /// <param name="validationContext">The context, unused.</param>
    /// <returns>One result per problem.</returns>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext) =>
        Validate(clientSupplied: GivenClient is not null).Select(e => new ValidationResult(e));

    /// <summary>Checks the options.</summary>
    /// <param name="clientSupplied">Whether the application supplies the client (so that no URL is needed).</param>
    /// <returns>One message per problem, each naming the option and what to set; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate(bool clientSupplied)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(Url))
        {
            if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"Sessions:Elasticsearch:Url must be an absolute http or https URL such as http://127.0.0.1:9200; it is '{Url}'.");
            }
        }
        else if (!clientSupplied)
        {
            errors.Add(
                "Sessions:Elasticsearch:Url is not set and no ElasticsearchClient is registered. Set it (for example http://127.0.0.1:9200), " +
                "register an ElasticsearchClient, or pass one to AddElasticsearchBackend.");
        }

        if (!IsValidIndexName(Index))
        {
            errors.Add(
                $"Sessions:Elasticsearch:Index must be an Elasticsearch index name (lowercase, 1 to 255 bytes, not starting with '-', '_' or '+', " +
                $"none of \\ / * ? \" < > | , # : or space, not '.' or '..'); it is '{Index}'.");
        }

        if (!string.IsNullOrEmpty(ApiKey) && (!string.IsNullOrEmpty(Username) || !string.IsNullOrEmpty(Password)))
        {
            errors.Add("Set either Sessions:Elasticsearch:ApiKey or Sessions:Elasticsearch:Username and Password, not both.");
        }
        else if (string.IsNullOrEmpty(Username) != string.IsNullOrEmpty(Password))
        {
            errors.Add("Sessions:Elasticsearch:Username and Sessions:Elasticsearch:Password go together: set both, or neither.");
        }

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"Sessions:Elasticsearch:RequestTimeout must be more than zero and at most 5 minutes; it is {RequestTimeout}.");
        }

        if (BatchSize is < 1 or > 10_000)
        {
            errors.Add($"Sessions:Elasticsearch:BatchSize must be between 1 and 10000; it is {BatchSize}.");
        }

        return errors;
    }

    // Index names: Elasticsearch reference, "Create index API", path parameter <index>.
    private static bool IsValidIndexName(string? name) =>
        !string.IsNullOrEmpty(name)
        && System.Text.Encoding.UTF8.GetByteCount(name) <= 255
        && name is not "." and not ".."
        && name[0] is not ('-' or '_' or '+')
        && !name.Any(c => char.IsUpper(c) || c is '\\' or '/' or '*' or '?' or '"' or '<' or '>' or '|' or ',' or '#' or ':' or ' ');
}
