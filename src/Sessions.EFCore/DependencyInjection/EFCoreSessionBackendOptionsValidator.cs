using Microsoft.Extensions.Options;
using Sessions.EFCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="EFCoreSessionBackendOptions"/> from its data annotations and <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/> rule (source-generated).</summary>
[OptionsValidator]
internal sealed partial class EFCoreSessionBackendOptionsValidator : IValidateOptions<EFCoreSessionBackendOptions>;
