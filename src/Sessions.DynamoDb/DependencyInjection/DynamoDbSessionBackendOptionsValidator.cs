using Microsoft.Extensions.Options;
using Sessions.DynamoDb;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="DynamoDbSessionBackendOptions"/> at start-up, with messages that say what to set.</summary>
internal sealed class DynamoDbSessionBackendOptionsValidator : IValidateOptions<DynamoDbSessionBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, DynamoDbSessionBackendOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
