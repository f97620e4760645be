using Microsoft.AspNetCore.Http;

namespace Sessions.AspNetCore;

/// <summary>
/// Tries several transports in order (for example header, then cookie). The ID is written back through the transport it
/// arrived by; a new session's ID goes out through all of them. Every transport reads every request, so a response that used
/// the session varies on all of them (<c>Vary: X-Session-Id, Cookie</c> for header-or-cookie).
/// </summary>
public sealed class CompositeSessionIdResolver : ISessionIdResolver
{
    private static readonly object s_sourceKey = new();
    private readonly ISessionIdResolver[] _resolvers;

    /// <summary>Creates the resolver.</summary>
    /// <param name="resolvers">The transports, in the order they are tried.</param>
    public CompositeSessionIdResolver(params ISessionIdResolver[] resolvers)
    {
        ArgumentNullException.ThrowIfNull(resolvers);
        if (resolvers.Length == 0 || resolvers.Any(r => r is null))
        {
            throw new ArgumentException("At least one resolver, and no nulls, are required.", nameof(resolvers));
        }

        _resolvers = [.. resolvers];
    }

    /// <inheritdoc />
    public string? ReadId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Asks every transport, even after one answered, so that each adds what it needs to the response (the header
        // transport's Vary); the first answer wins.
        string? found = null;
        foreach (var resolver in _resolvers)
        {
            if (resolver.ReadId(context) is { } value && found is null)
            {
                context.Items[s_sourceKey] = resolver;
                found = value;
            }
        }

        return found;
    }

    /// <inheritdoc />
    /// <remarks>The values of the first transport that carries any.</remarks>
    public IEnumerable<string> ReadIds(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var resolver in _resolvers)
        {
            var values = resolver.ReadIds(context).ToList();
            if (values.Count > 0)
            {
                context.Items[s_sourceKey] = resolver;
                return values;
            }
        }

        return [];
    }

    /// <inheritdoc />
    public void WriteId(HttpContext context, string value, DateTimeOffset? expires)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var resolver in Targets(context))
        {
            resolver.WriteId(context, value, expires);
        }
    }

    /// <inheritdoc />
    public void ClearId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var resolver in Targets(context))
        {
            resolver.ClearId(context);
        }
    }

    private IEnumerable<ISessionIdResolver> Targets(HttpContext context) =>
        context.Items.TryGetValue(s_sourceKey, out var source) && source is ISessionIdResolver resolver ? [resolver] : _resolvers;
}
