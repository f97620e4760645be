using Elastic.Clients.Elasticsearch;
using Microsoft.Extensions.Options;
using Sessions.Elasticsearch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="ElasticsearchSessionBackendOptions"/> when the backend is created, with messages that say what to set.</summary>
internal sealed class ElasticsearchSessionBackendOptionsValidator(bool clientSupplied, IServiceProviderIsService? registered)
    : IValidateOptions<ElasticsearchSessionBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, ElasticsearchSessionBackendOptions options)
    {
        var errors = options.Validate(clientSupplied || registered?.IsService(typeof(ElasticsearchClient)) == true);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
