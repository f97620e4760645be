using System.Globalization;

namespace Sessions.Conformance;

/// <summary>One parsed <c>Set-Cookie</c> response header: name, value, and attributes (names lower-cased).</summary>
internal sealed class SetCookie
{
    private readonly Dictionary<string, string?> _attributes;

    private SetCookie(string raw, string name, string value, Dictionary<string, string?> attributes)
    {
        Raw = raw;
        Name = name;
        Value = value;
        _attributes = attributes;
    }

    public string Raw { get; }

    public string Name { get; }

    public string Value { get; }

    public string? Path => Get("path");

    public string? Domain => Get("domain");

    public string? SameSite => Get("samesite");

    public bool Secure => Has("secure");

    public bool HttpOnly => Has("httponly");

    public DateTimeOffset? Expires =>
        Get("expires") is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires) ? expires : null;

    /// <summary>Whether the header tells the client to forget the cookie: an empty value, or an expiry in the distant past.</summary>
    public bool Deletes => Value.Length == 0 || Expires < new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero) || Get("max-age") == "0";

    public bool Has(string attribute) => _attributes.ContainsKey(attribute);

    public string? Get(string attribute) => _attributes.TryGetValue(attribute, out var value) ? value : null;

    public static SetCookie Parse(string header)
    {
        var parts = header.Split(';');
        var pair = parts[0];
        var eq = pair.IndexOf('=', StringComparison.Ordinal);
        var name = (eq < 0 ? pair : pair[..eq]).Trim();
        var value = eq < 0 ? string.Empty : pair[(eq + 1)..].Trim();
        var attributes = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in parts.Skip(1))
        {
            var attributeEq = part.IndexOf('=', StringComparison.Ordinal);
            var attributeName = (attributeEq < 0 ? part : part[..attributeEq]).Trim().ToLowerInvariant();
            attributes[attributeName] = attributeEq < 0 ? null : part[(attributeEq + 1)..].Trim();
        }

        return new SetCookie(header, name, value, attributes);
    }

    public override string ToString() => Raw;
}
