using Microsoft.Extensions.Options;
using Sessions.Mongo;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="MongoSessionBackendOptions"/> through its <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/> rules (source-generated).</summary>
[OptionsValidator]
internal sealed partial class MongoSessionBackendOptionsValidator : IValidateOptions<MongoSessionBackendOptions>;
