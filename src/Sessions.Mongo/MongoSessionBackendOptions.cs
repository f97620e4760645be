using System.ComponentModel.DataAnnotations;
using MongoDB.Driver;

namespace Sessions.Mongo;

/// <summary>Options for <see cref="MongoSessionBackend"/>, bound from the configuration section <c>Sessions:Mongo</c>.</summary>
public sealed class MongoSessionBackendOptions : IValidatableObject
{
    /// <summary>The collection used when <see cref="Collection"/> is not set: <c>sessions</c>.</summary>
    public const string DefaultCollection = "sessions";

    /// <summary>The batch size used when <see cref="BatchSize"/> is not set: 1,000 documents.</summary>
    public const int DefaultBatchSize = 1000;

    /// <summary>
    /// A MongoDB connection string (<c>mongodb://</c> or <c>mongodb+srv://</c>, see the MongoDB manual's "Connection String
    /// URI Format"), for example <c>mongodb://127.0.0.1:27017</c> or <c>mongodb://user:pass@host:27017/app?authSource=admin</c>.
    /// Used only when the backend builds its own <see cref="MongoClient"/>: not when an <see cref="IMongoClient"/> or an
    /// <see cref="IMongoDatabase"/> is handed to <c>AddMongoBackend</c>. When it is not set, the <see cref="IMongoClient"/>
    /// registered in the container is used.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The database that holds <see cref="Collection"/>. When not set, the database named in the path of
    /// <see cref="ConnectionString"/> (<c>mongodb://host/app</c>) is used; one of the two is required unless an
    /// <see cref="IMongoDatabase"/> is handed to <c>AddMongoBackend</c>.
    /// </summary>
    public string? Database { get; set; }

    /// <summary>The collection that holds one document per session (default <c>sessions</c>).</summary>
    public string Collection { get; set; } = DefaultCollection;

    /// <summary>
    /// When <see langword="true"/>, the backend creates its TTL index (<c>{ expiresAt: 1 }</c> with <c>expireAfterSeconds: 0</c>)
    /// at start-up, or on first use when built directly. Default <see langword="false"/>: the backend never creates indexes
    /// behind the application's back; call <see cref="MongoSessionBackend.EnsureIndexesAsync"/> from a deployment step instead.
    /// Creating an index needs the <c>createIndex</c> privilege (role <c>readWrite</c> or <c>dbAdmin</c>).
    /// </summary>
    public bool CreateIndexes { get; set; }

    /// <summary>
    /// How many documents one round trip of key listing or purging reads or deletes (default 1,000; 1 to 100,000). Each
    /// batch is one <c>find</c> and, for the purge, one <c>delete</c>.
    /// </summary>
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>The client handed to <c>AddMongoBackend</c>, or the one registered in the container when no connection string is set.</summary>
    internal IMongoClient? GivenClient { get; set; }

    /// <summary>The database handed to <c>AddMongoBackend</c>.</summary>
    internal IMongoDatabase? GivenDatabase { get; set; }

    /// <summary>Checks the options as <see cref="Validate(bool, bool)"/> does, knowing whether <c>AddMongoBackend</c> was given (or found) a client or a database.</summary>
    /// <param name="validationContext">The context, unused.</param>
    /// <returns>One result per problem.</returns>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext) =>
        Validate(storeSupplied: GivenClient is not null || GivenDatabase is not null, databaseSupplied: GivenDatabase is not null).Select(e => new ValidationResult(e));

    /// <summary>Checks the options.</summary>
    /// <param name="storeSupplied">Whether the application supplies the client or database (so that no connection string is needed).</param>
    /// <param name="databaseSupplied">Whether the application supplies the database itself (so that no database name is needed).</param>
    /// <returns>One message per problem, each naming the option and what to set; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate(bool storeSupplied, bool databaseSupplied)
    {
        var errors = new List<string>();
        MongoUrl? url = null;
        if (!string.IsNullOrWhiteSpace(ConnectionString))
        {
            try
            {
                url = MongoUrl.Create(ConnectionString);
            }
            catch (Exception e) when (e is MongoConfigurationException or FormatException or ArgumentException)
            {
                errors.Add($"Sessions:Mongo:ConnectionString is not a MongoDB connection string ({e.Message}); set it to a URI such as mongodb://127.0.0.1:27017/sessions.");
            }
        }
        else if (!storeSupplied)
        {
            errors.Add(
                "Sessions:Mongo:ConnectionString is not set and no IMongoClient is registered. Set it (for example mongodb://127.0.0.1:27017), " +
                "register an IMongoClient, or pass a client or database to AddMongoBackend.");
        }

        if (!databaseSupplied && string.IsNullOrWhiteSpace(Database) && string.IsNullOrEmpty(url?.DatabaseName))
        {
            errors.Add("Sessions:Mongo:Database is not set and the connection string names no database; set Sessions:Mongo:Database (for example \"app\").");
        }
        else if (Database is not null && !IsValidDatabaseName(Database))
        {
            errors.Add($"Sessions:Mongo:Database must be a MongoDB database name (1 to 63 characters, none of /\\. \"$ and no NUL); it is '{Database}'.");
        }

        if (string.IsNullOrWhiteSpace(Collection) || Collection.Contains('$', StringComparison.Ordinal) || Collection.Contains('\0', StringComparison.Ordinal)
            || Collection.StartsWith("system.", StringComparison.Ordinal) || Collection.Length > 255)
        {
            errors.Add($"Sessions:Mongo:Collection must be a MongoDB collection name (no '$', not starting with 'system.'); it is '{Collection}'.");
        }

        if (BatchSize is < 1 or > 100_000)
        {
            errors.Add($"Sessions:Mongo:BatchSize must be between 1 and 100000; it is {BatchSize}.");
        }

        return errors;
    }

    /// <summary>The database name in force: <see cref="Database"/>, else the one in <see cref="ConnectionString"/>.</summary>
    internal string? EffectiveDatabase() =>
        !string.IsNullOrWhiteSpace(Database) ? Database
        : !string.IsNullOrWhiteSpace(ConnectionString) ? MongoUrl.Create(ConnectionString).DatabaseName
        : null;

    // Database names: https://www.mongodb.com/docs/manual/reference/limits/#naming-restrictions
    private static bool IsValidDatabaseName(string name) =>
        name.Length is >= 1 and <= 63 && name.IndexOfAny(['/', '\\', '.', ' ', '"', '$', '\0']) < 0;
}
