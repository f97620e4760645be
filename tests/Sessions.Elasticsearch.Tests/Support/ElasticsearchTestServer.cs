using System.Text.Json.Nodes;
using Elastic.Clients.Elasticsearch;
using NUnit.Framework;

namespace Sessions.Elasticsearch.Tests.Support;

/// <summary>
/// The real Elasticsearch node the kit runs against, named by <c>SESSIONS_TEST_ELASTICSEARCH_URL</c> (for example
/// <c>http://127.0.0.1:9200</c>, or <c>http://elastic:password@127.0.0.1:9200</c> for basic authentication). No Elasticsearch
/// server can be installed on the project's machines, so without the variable the kit's fixtures are ignored, never passed.
/// </summary>
internal static class ElasticsearchTestServer
{
    public const string Variable = "SESSIONS_TEST_ELASTICSEARCH_URL";

    /// <summary>The node's URL; calls <see cref="Assert.Ignore(string)"/> when the variable is not set.</summary>
    public static Uri Url
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(Variable);
            if (string.IsNullOrWhiteSpace(value))
            {
                Assert.Ignore(
                    $"{Variable} is not set: no Elasticsearch server runs here, so the conformance kit cannot run. " +
                    $"Point it at a disposable node to run it, e.g. {Variable}=http://127.0.0.1:9200 dotnet test tests/Sessions.Elasticsearch.Tests");
            }

            return new Uri(value);
        }
    }

    /// <summary>Backend options for <paramref name="index"/> on the node, with the credentials in the URL's user info, if any.</summary>
    public static ElasticsearchSessionBackendOptions Options(string index, int batchSize = ElasticsearchSessionBackendOptions.DefaultBatchSize)
    {
        var url = Url;
        var options = new ElasticsearchSessionBackendOptions
        {
            Url = url.GetLeftPart(UriPartial.Authority),
            Index = index,
            BatchSize = batchSize,
            RequestTimeout = TimeSpan.FromSeconds(30),
        };
        if (url.UserInfo.Split(':', 2) is [{ Length: > 0 } user, var password])
        {
            options.Username = Uri.UnescapeDataString(user);
            options.Password = Uri.UnescapeDataString(password);
        }

        return options;
    }

    /// <summary>A fresh index name for one fixture: <c>sessions-test-{label}-{guid}</c>.</summary>
    public static string NewIndexName(string label) => $"sessions-test-{label}-{Guid.NewGuid():N}";

    /// <summary>Creates <paramref name="index"/> with the backend's own mapping.</summary>
    public static async Task CreateIndexAsync(string index)
    {
        var options = Options(index);
        options.CreateIndex = true;
        await using var backend = new ElasticsearchSessionBackend(options);
        await backend.EnsureIndexAsync(CancellationToken.None);
    }

    /// <summary>Deletes <paramref name="index"/> (no-op when the variable is unset).</summary>
    public static async Task DeleteIndexAsync(string? index)
    {
        if (index is null || string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable)))
        {
            return;
        }

        await Client().Indices.DeleteAsync(index);
    }

    /// <summary>Stores, under <paramref name="key"/>, a document that the mapping accepts but that is no session record: only its key.</summary>
    public static async Task WriteKeyOnlyDocumentAsync(string index, string key, CancellationToken cancellationToken)
    {
        var response = await Client().IndexAsync(new IndexRequest<JsonObject>(new JsonObject { ["key"] = key }, index, key), cancellationToken);
        Assert.That(response.IsValidResponse, Is.True, response.DebugInformation);
    }

    private static ElasticsearchClient Client()
    {
        var options = Options("unused");
        var settings = new ElasticsearchClientSettings(new Uri(options.Url!));
        if (options.Username is not null)
        {
            settings = settings.Authentication(new Elastic.Transport.BasicAuthentication(options.Username, options.Password!));
        }

        return new ElasticsearchClient(settings);
    }
}
