using Microsoft.Extensions.Options;
using Sessions.Elasticsearch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="ElasticsearchSessionBackendOptions"/> through its <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/> rules (source-generated).</summary>
[OptionsValidator]
internal sealed partial class ElasticsearchSessionBackendOptionsValidator : IValidateOptions<ElasticsearchSessionBackendOptions>;
