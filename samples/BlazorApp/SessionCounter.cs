using System.Globalization;
using Sessions.AspNetCore;

namespace BlazorApp;

/// <summary>The count both the component and the hub keep in the session, under one key (as QuickStart's <c>/hit</c> does).</summary>
public static class SessionCounter
{
    public const string Key = "n";

    /// <summary>Adds one to the count and saves it; the engine merges it with concurrent changes to other keys.</summary>
    public static async Task<int> IncrementAsync(IServerSessionAccessor sessions, CancellationToken cancellationToken = default)
    {
        var session = await sessions.LoadAsync(cancellationToken);
        var n = (session.GetInt32(Key) ?? 0) + 1;
        session.SetInt32(Key, n);
        await session.CommitAsync(cancellationToken);
        return n;
    }

    public static string Format(int n) => n.ToString(CultureInfo.InvariantCulture);
}
