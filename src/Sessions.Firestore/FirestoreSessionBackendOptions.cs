using System.ComponentModel.DataAnnotations;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.Firestore;

/// <summary>
/// Options for <see cref="FirestoreSessionBackend"/>, bound from the configuration section <c>Sessions:Firestore</c>, checked
/// by a source-generated validator that runs <see cref="Validate(ValidationContext)"/>.
/// </summary>
public sealed class FirestoreSessionBackendOptions : IValidatableObject
{
    /// <summary>The database used when <see cref="DatabaseId"/> is not set: <c>(default)</c>.</summary>
    public const string DefaultDatabaseId = "(default)";

    /// <summary>The collection used when <see cref="Collection"/> is not set: <c>sessions</c>.</summary>
    public const string DefaultCollection = "sessions";

    /// <summary>The environment variable that points clients at the emulator: <c>FIRESTORE_EMULATOR_HOST</c> (for example <c>127.0.0.1:8080</c>).</summary>
    public const string EmulatorHostEnvironmentVariable = "FIRESTORE_EMULATOR_HOST";

    /// <summary>The per-call deadline used when <see cref="CallTimeout"/> is not set: 1 second.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The deadline for one query page or one batch of deletes, used when <see cref="QueryTimeout"/> is not set: 30 seconds.</summary>
    public static readonly TimeSpan DefaultQueryTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The Google Cloud project that holds the database (for example <c>my-project</c>). Required; any name works on the emulator.</summary>
    public string? ProjectId { get; set; }

    /// <summary>The Firestore database in the project (default <c>(default)</c>). Must be a Firestore database in Native mode.</summary>
    public string DatabaseId { get; set; } = DefaultDatabaseId;

    /// <summary>
    /// The top-level collection that holds one document per session (default <c>sessions</c>). A TTL policy on its
    /// <c>expiresAt</c> field lets Firestore delete expired sessions: see the package README.
    /// </summary>
    public string Collection { get; set; } = DefaultCollection;

    /// <summary>
    /// <c>host:port</c> of a Firestore emulator (for example <c>127.0.0.1:8080</c>): when set, the backend talks plaintext
    /// HTTP/2 to it and sends no credentials. When not set, the <c>FIRESTORE_EMULATOR_HOST</c> environment variable is used
    /// if present; otherwise the backend calls <c>firestore.googleapis.com</c> over TLS with Google credentials.
    /// </summary>
    public string? EmulatorHost { get; set; }

    /// <summary>
    /// Path of a service-account key file (JSON) to authenticate with. When not set, Application Default Credentials are
    /// used (<c>GOOGLE_APPLICATION_CREDENTIALS</c>, <c>gcloud auth application-default login</c>, or the metadata server on
    /// Google Cloud). Ignored for the emulator.
    /// </summary>
    public string? CredentialsPath { get; set; }

    /// <summary>
    /// The deadline of each read or write call (default 1 second). A call that takes longer fails with a
    /// <see cref="FirestoreSessionException"/> (gRPC <c>DeadlineExceeded</c>), which the core reports as a backend failure.
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = DefaultCallTimeout;

    /// <summary>The deadline of one page of a key listing or purge query, and of one batch of purge deletes (default 30 seconds).</summary>
    public TimeSpan QueryTimeout { get; set; } = DefaultQueryTimeout;

    /// <summary>The emulator in force: <see cref="EmulatorHost"/>, else the <c>FIRESTORE_EMULATOR_HOST</c> environment variable, else <see langword="null"/>.</summary>
    /// <returns><c>host:port</c>, or <see langword="null"/> for real Firestore.</returns>
    public string? ResolveEmulatorHost() =>
        !string.IsNullOrWhiteSpace(EmulatorHost) ? EmulatorHost.Trim()
        : Environment.GetEnvironmentVariable(EmulatorHostEnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment.Trim()
        : null;

    /// <summary>Checks the options (<see cref="Validate(ValidationContext)"/>, through the generated validator).</summary>
    /// <returns>One message per problem, each naming the option and what to set; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate() => [.. new FirestoreSessionBackendOptionsValidator().Validate(null, this).Failures ?? []];

    /// <summary>
    /// The rules, as code: the IDs, the emulator host and the credentials file need it, and the generator's <c>[Range]</c>
    /// ignores its error message (dotnet/runtime#123137), which must name the setting.
    /// </summary>
    /// <param name="validationContext">The context, unused.</param>
    /// <returns>One result per problem.</returns>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ProjectId) || !ProjectId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
        {
            yield return new($"Sessions:Firestore:ProjectId must be set to the Google Cloud project ID (for example my-project; any name, such as demo, works on the emulator); it is '{ProjectId}'.");
        }

        if (string.IsNullOrWhiteSpace(DatabaseId) || DatabaseId.Contains('/', StringComparison.Ordinal))
        {
            yield return new($"Sessions:Firestore:DatabaseId must be a database ID such as (default) or sessions-db; it is '{DatabaseId}'.");
        }

        if (!IsValidCollectionId(Collection))
        {
            yield return new(
                $"Sessions:Firestore:Collection must be a collection ID: 1 to 1,500 bytes, no '/', not '.' or '..', not of the form __name__; it is '{Collection}'.");
        }

        if (ResolveEmulatorHost() is { } host && !IsHostPort(host))
        {
            yield return new(
                $"Sessions:Firestore:EmulatorHost (or the FIRESTORE_EMULATOR_HOST environment variable) must be host:port, such as 127.0.0.1:8080, without a scheme; it is '{host}'.");
        }

        if (CredentialsPath is not null && ResolveEmulatorHost() is null && !File.Exists(CredentialsPath))
        {
            yield return new($"Sessions:Firestore:CredentialsPath names a service-account key file that does not exist: '{CredentialsPath}'. Fix the path, or unset it to use Application Default Credentials.");
        }

        if (CallTimeout <= TimeSpan.Zero || CallTimeout > TimeSpan.FromMinutes(5))
        {
            yield return new($"Sessions:Firestore:CallTimeout must be more than zero and at most 5 minutes; it is {CallTimeout}.");
        }

        if (QueryTimeout <= TimeSpan.Zero || QueryTimeout > TimeSpan.FromHours(1))
        {
            yield return new($"Sessions:Firestore:QueryTimeout must be more than zero and at most 1 hour; it is {QueryTimeout}.");
        }
    }

    private static bool IsValidCollectionId(string? id) =>
        !string.IsNullOrEmpty(id)
        && Encoding.UTF8.GetByteCount(id) <= 1500
        && !id.Contains('/', StringComparison.Ordinal)
        && id is not "." and not ".."
        && !(id.Length >= 4 && id.StartsWith("__", StringComparison.Ordinal) && id.EndsWith("__", StringComparison.Ordinal));

    private static bool IsHostPort(string value)
    {
        var colon = value.LastIndexOf(':');
        return colon > 0
            && !value.Contains("://", StringComparison.Ordinal)
            && int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535;
    }
}
