using Microsoft.Extensions.Options;
using Sessions.Firestore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="FirestoreSessionBackendOptions"/> when the backend is created, with messages that say what to set.</summary>
internal sealed class FirestoreSessionBackendOptionsValidator : IValidateOptions<FirestoreSessionBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, FirestoreSessionBackendOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
