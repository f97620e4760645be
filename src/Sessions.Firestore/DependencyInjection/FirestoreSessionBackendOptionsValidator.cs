using Microsoft.Extensions.Options;
using Sessions.Firestore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="FirestoreSessionBackendOptions"/> from its data annotations and <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/> rules (source-generated).</summary>
[OptionsValidator]
internal sealed partial class FirestoreSessionBackendOptionsValidator : IValidateOptions<FirestoreSessionBackendOptions>;
