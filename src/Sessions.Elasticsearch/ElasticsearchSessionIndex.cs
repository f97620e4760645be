using Elastic.Clients.Elasticsearch.IndexManagement;
using Elastic.Clients.Elasticsearch.Mapping;

namespace Sessions.Elasticsearch;

/// <summary>The sessions index's explicit mapping, created only on request (<see cref="ElasticsearchSessionBackendOptions.CreateIndex"/>).</summary>
internal static class ElasticsearchSessionIndex
{
    /// <summary>
    /// <c>PUT /{index}</c> with <c>dynamic: strict</c> and four fields: <c>key</c> keyword (prefix queries and the listing's
    /// sort), <c>payload</c> binary (kept in <c>_source</c>, not indexed), <c>version</c> long (not indexed: only read back),
    /// <c>expiresAt</c> date in <c>epoch_millis</c> (range queries of listing and purge).
    /// </summary>
    public static CreateIndexRequest Create(string index) => new(index)
    {
        Mappings = new TypeMapping
        {
            Dynamic = DynamicMapping.Strict,
            Properties = new Properties
            {
                { ElasticsearchSessionDocument.KeyField, new KeywordProperty() },
                { ElasticsearchSessionDocument.PayloadField, new BinaryProperty() },
                { ElasticsearchSessionDocument.VersionField, new LongNumberProperty { Index = false } },
                { ElasticsearchSessionDocument.ExpiresAtField, new DateProperty { Format = "epoch_millis" } },
            },
        },
    };
}
