using Microsoft.Extensions.Options;
using Sessions.DynamoDb;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="DynamoDbSessionBackendOptions"/> from its data annotations and <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/> rules (source-generated).</summary>
[OptionsValidator]
internal sealed partial class DynamoDbSessionBackendOptionsValidator : IValidateOptions<DynamoDbSessionBackendOptions>;
