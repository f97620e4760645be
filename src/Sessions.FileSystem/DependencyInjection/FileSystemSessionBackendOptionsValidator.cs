using Microsoft.Extensions.Options;
using Sessions.FileSystem;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="FileSystemSessionBackendOptions"/> at start-up, with messages that say what to set.</summary>
internal sealed class FileSystemSessionBackendOptionsValidator : IValidateOptions<FileSystemSessionBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, FileSystemSessionBackendOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
