using System.Globalization;

namespace Sessions.Mongo;

/// <summary>
/// MongoDB could not be reached, refused the credentials or the operation, or failed. The message names the servers
/// (<see cref="SessionStoreException.Endpoint"/>), the database and the collection, and says what to set. The core reports
/// it as a backend failure (HTTP 503).
/// </summary>
/// <param name="message">What happened and what to do.</param>
/// <param name="innerException">The driver's exception, if any.</param>
public sealed class MongoSessionException(string message, Exception? innerException = null) : SessionStoreException(message, innerException)
{
    /// <summary>The servers of the connection (<c>host:port</c>, comma-separated), when known: the same as <see cref="SessionStoreException.Endpoint"/>.</summary>
    public string? Servers => Endpoint;

    /// <summary>The <c>database.collection</c> namespace involved, when known.</summary>
    public string? Namespace { get; init; }

    /// <summary>MongoDB's error code (for example 13, <c>Unauthorized</c>), when the server answered with one: <see cref="SessionStoreException.ErrorCode"/> as a number.</summary>
    public new int? ErrorCode
    {
        get => int.TryParse(base.ErrorCode, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code) ? code : null;
        init => base.ErrorCode = value?.ToString(CultureInfo.InvariantCulture);
    }
}
