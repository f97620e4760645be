using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using Sessions.AspNetCore;

namespace Microsoft.AspNetCore.Http;

/// <summary>Access to the server-side session beyond <see cref="ISession"/>, and typed values stored as JSON.</summary>
public static class ServerSessionExtensions
{
    // The web defaults (camelCase, case-insensitive reads, numbers from strings), plus NaN and ±Infinity as the JSON strings
    // "NaN", "Infinity" and "-Infinity", so that every double and float round-trips (plain JSON has no literal for them).
    private static readonly JsonSerializerOptions Defaults = CreateDefaults();

    /// <summary>The request's server-side session, with <c>Regenerate()</c>, <c>Destroy()</c>, <c>UserId</c> and timestamps.</summary>
    /// <param name="context">The request.</param>
    /// <returns>The session.</returns>
    /// <exception cref="InvalidOperationException">Sessions are not enabled for this request (no <c>UseSessions()</c>, or the endpoint or path opted out).</exception>
    public static IServerSession GetServerSession(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<ISessionFeature>()?.Session as IServerSession
            ?? throw new InvalidOperationException(
                "No server-side session for this request: call app.UseSessions() before the endpoints, and check that the endpoint or path does not opt out (WithoutSession, Sessions:ExcludedPaths).");
    }

    /// <summary>Reads a value stored with <see cref="Set{T}(ISession, string, T, JsonSerializerOptions?)"/>.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="session">The session.</param>
    /// <param name="key">The key.</param>
    /// <param name="options">
    /// Serializer options; <see langword="null"/> for the web defaults (<see cref="JsonSerializerOptions.Web"/>) with NaN and
    /// ±Infinity allowed, stored as the strings <c>"NaN"</c>, <c>"Infinity"</c> and <c>"-Infinity"</c>.
    /// </param>
    /// <returns>The value, or <see langword="default"/> when the key is absent.</returns>
    public static T? Get<T>(this ISession session, string key, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.TryGetValue(key, out var bytes) ? JsonSerializer.Deserialize<T>(bytes, options ?? Defaults) : default;
    }

    /// <summary>Stores <paramref name="value"/> as UTF-8 JSON (System.Text.Json; no type names are written or trusted).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="session">The session.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">
    /// Serializer options; <see langword="null"/> for the web defaults (<see cref="JsonSerializerOptions.Web"/>) with NaN and
    /// ±Infinity allowed, stored as the strings <c>"NaN"</c>, <c>"Infinity"</c> and <c>"-Infinity"</c>.
    /// </param>
    public static void Set<T>(this ISession session, string key, T value, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Set(key, JsonSerializer.SerializeToUtf8Bytes(value, options ?? Defaults));
    }

    /// <summary>Reads a JSON value with source-generated metadata (trimming- and AOT-friendly).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="session">The session.</param>
    /// <param name="key">The key.</param>
    /// <param name="typeInfo">The type's JSON metadata.</param>
    /// <returns>The value, or <see langword="default"/> when the key is absent.</returns>
    public static T? Get<T>(this ISession session, string key, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.TryGetValue(key, out var bytes) ? JsonSerializer.Deserialize(bytes, typeInfo) : default;
    }

    /// <summary>Stores a JSON value with source-generated metadata (trimming- and AOT-friendly).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="session">The session.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="typeInfo">The type's JSON metadata.</param>
    public static void Set<T>(this ISession session, string key, T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Set(key, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
    }

    private static JsonSerializerOptions CreateDefaults()
    {
        var options = new JsonSerializerOptions(JsonSerializerOptions.Web);
        options.NumberHandling |= System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
