using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Sessions.Backends;

namespace Sessions.Tool;

/// <summary>A call to one named store failed: the tool's error then names the setting that points at that store.</summary>
internal sealed class StoreFailedException(string backendName, Exception innerException)
    : Exception(innerException.Message, innerException)
{
    /// <summary>The registered name of the backend whose call failed (<c>memcached</c>, <c>redis</c>, ...).</summary>
    public string BackendName { get; } = backendName;

    /// <summary>Whether <paramref name="exception"/> is a store failure to attribute (not a cancellation, an unreadable record or the tool's own error).</summary>
    public static bool IsStoreFailure(Exception exception) =>
        exception is not (OperationCanceledException or SessionRecordCorruptException or ToolException or StoreFailedException);

    /// <summary>The keys of <paramref name="keys"/>, with a failure of the listing attributed to <paramref name="backendName"/>.</summary>
    public static async IAsyncEnumerable<string> Attribute(IAsyncEnumerable<string> keys, string backendName, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var enumerator = keys.GetAsyncEnumerator(cancellationToken);
        await using (enumerator.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
                catch (Exception ex) when (IsStoreFailure(ex))
                {
                    throw new StoreFailedException(backendName, ex);
                }

                yield return enumerator.Current;
            }
        }
    }
}

/// <summary>
/// A backend whose failures are attributed to its registered name, for commands that talk to two stores (<c>copy</c>):
/// the error must say which of them failed.
/// </summary>
internal sealed class NamedBackend(ISessionBackend inner, string name) : ISessionBackend
{
    public async ValueTask<SessionRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await inner.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailedException.IsStoreFailure(ex))
        {
            throw new StoreFailedException(name, ex);
        }
    }

    public async ValueTask<bool> SetAsync(string key, SessionRecord record, SetCondition condition, CancellationToken cancellationToken)
    {
        try
        {
            return await inner.SetAsync(key, record, condition, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailedException.IsStoreFailure(ex))
        {
            throw new StoreFailedException(name, ex);
        }
    }

    public async ValueTask<bool> RemoveAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        try
        {
            return await inner.RemoveAsync(key, expectedVersion, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailedException.IsStoreFailure(ex))
        {
            throw new StoreFailedException(name, ex);
        }
    }

    public async ValueTask<bool> TouchAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        try
        {
            return await inner.TouchAsync(key, expiresAt, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailedException.IsStoreFailure(ex))
        {
            throw new StoreFailedException(name, ex);
        }
    }
}

/// <summary>Which setting points a first-party backend at its server, for error messages.</summary>
internal static class StoreSettings
{
    // Registered name -> its section under Sessions, and the settings that locate its server, the usual one first (the
    // first one set is named). Values are printed only for addresses and directories: connection strings, Redis
    // configurations and URLs may hold passwords.
    private static readonly Dictionary<string, (string Section, (string Name, bool ShowValue)[] Settings)> Locators = new(StringComparer.OrdinalIgnoreCase)
    {
        ["filesystem"] = ("FileSystem", [("Directory", true)]),
        ["redis"] = ("Redis", [("Configuration", false)]),
        ["memcached"] = ("Memcached", [("Servers", true)]),
        ["efcore"] = ("EFCore", [("ConnectionString", false)]),
        ["dynamodb"] = ("DynamoDb", [("ServiceUrl", true), ("Region", true)]),
        ["firestore"] = ("Firestore", [("EmulatorHost", true), ("ProjectId", true)]),
        ["mongo"] = ("Mongo", [("ConnectionString", false)]),
        ["elasticsearch"] = ("Elasticsearch", [("Url", false)]),
    };

    /// <summary>
    /// The setting that points <paramref name="backendName"/> at its server, e.g. <c>Sessions:Memcached:Servers (now
    /// 127.0.0.1:11211)</c>; for a third-party backend, its section in general.
    /// </summary>
    public static string LocatorOf(string backendName, string sectionName, IConfiguration? configuration)
    {
        if (!Locators.TryGetValue(backendName, out var locator))
        {
            return $"its settings under {sectionName}:<{backendName}'s section>";
        }

        var settings = locator.Settings.Select(s => (Key: $"{sectionName}:{locator.Section}:{s.Name}", s.ShowValue)).ToList();
        var (key, showValue) = settings.FirstOrDefault(s => !string.IsNullOrEmpty(configuration?[s.Key]), settings[0]);
        var value = configuration?[key];
        return showValue && !string.IsNullOrEmpty(value) ? $"{key} (now {value})" : key;
    }
}
