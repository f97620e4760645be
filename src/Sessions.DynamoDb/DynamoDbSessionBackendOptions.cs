using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.DynamoDb;

/// <summary>
/// Options for <see cref="DynamoDbSessionBackend"/> (configuration section <c>Sessions:DynamoDb</c> by convention), checked
/// by a source-generated validator: the table name is a data annotation, the other rules are <see cref="Validate(ValidationContext)"/>.
/// </summary>
public sealed class DynamoDbSessionBackendOptions : IValidatableObject
{
    /// <summary>The table used when <see cref="Table"/> is not set: <c>sessions</c>.</summary>
    public const string DefaultTable = "sessions";

    /// <summary>The per-request timeout used when <see cref="RequestTimeout"/> is not set: 5 seconds.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The DynamoDB table that holds the sessions (default <c>sessions</c>). Its key schema must be a single string partition
    /// key named <c>pk</c> and no sort key; <see cref="CreateTable"/> creates such a table.
    /// </summary>
    [Required(ErrorMessage = TableRule)]
    [RegularExpression("^[A-Za-z0-9_.-]{3,255}$", ErrorMessage = TableRule)]
    public string Table { get; set; } = DefaultTable;

    /// <summary>
    /// The endpoint to call instead of the region's public one, for a local DynamoDB (DynamoDB Local, dynalite, LocalStack),
    /// for example <c>http://127.0.0.1:8000</c>. Used only when the backend builds its own client (no <c>IAmazonDynamoDB</c>
    /// is registered). A loopback endpoint gets dummy credentials unless <c>AWS_ACCESS_KEY_ID</c> is set.
    /// </summary>
    public string? ServiceUrl { get; set; }

    /// <summary>
    /// The AWS region (for example <c>eu-west-1</c>): the region whose endpoint is called, or, with <see cref="ServiceUrl"/>,
    /// the region requests are signed for (default <c>us-east-1</c> then). When neither is set, the SDK's default region
    /// lookup applies (<c>AWS_REGION</c>, the profile, instance metadata). Used only when the backend builds its own client.
    /// </summary>
    public string? Region { get; set; }

    /// <summary>
    /// When <see langword="true"/>, a missing table is created on start-up (on-demand billing, <c>pk</c> as the partition key)
    /// and DynamoDB's time-to-live is switched on for its <c>ttl</c> attribute. Default <see langword="false"/>: the table must
    /// exist, and start-up fails with a message that says so when it does not.
    /// </summary>
    public bool CreateTable { get; set; }

    /// <summary>
    /// How long one HTTP request to DynamoDB may take before the SDK gives up on it and retries (default 5 seconds). Used only
    /// when the backend builds its own client.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = DefaultRequestTimeout;

    /// <summary>
    /// How many times the SDK retries a throttled or failed request (standard retry mode, with exponential backoff and
    /// jitter) before the backend reports the error (default 3). Used only when the backend builds its own client.
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Checks the options: the annotations and the rules below.</summary>
    /// <returns>One message per problem, each naming the option and what to set; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate() => [.. new DynamoDbSessionBackendOptionsValidator().Validate(null, this).Failures ?? []];

    /// <summary>
    /// The rules that are code, not annotations: the service URL, the region and the ranges (the generator's <c>[Range]</c>
    /// ignores its error message, dotnet/runtime#123137, and the message must name the setting).
    /// </summary>
    /// <param name="validationContext">The context, unused.</param>
    /// <returns>One result per problem.</returns>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ServiceUrl is not null
            && (!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            yield return new($"Sessions:DynamoDb:ServiceUrl must be an absolute http or https URL such as http://127.0.0.1:8000; it is '{ServiceUrl}'.");
        }

        if (Region is not null && string.IsNullOrWhiteSpace(Region))
        {
            yield return new("Sessions:DynamoDb:Region must be a region name such as us-east-1, or unset.");
        }

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromMinutes(5))
        {
            yield return new($"Sessions:DynamoDb:RequestTimeout must be more than zero and at most 5 minutes; it is {RequestTimeout}.");
        }

        if (MaxRetries is < 0 or > 10)
        {
            yield return new($"Sessions:DynamoDb:MaxRetries must be between 0 and 10; it is {MaxRetries}.");
        }
    }

    private const string TableRule = "Sessions:DynamoDb:Table must be a DynamoDB table name (3 to 255 characters: letters, digits, '_', '-', '.').";
}
