namespace Sessions.Backends;

/// <summary>Optional backend capability: lists the keys of live records.</summary>
public interface ISessionKeyEnumerator
{
    /// <summary>Enumerates the keys of live records that start with <paramref name="prefix"/>.</summary>
    /// <param name="prefix">Only keys starting with this (ordinal) are returned; empty for all keys.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>Each key at most once. Records written or deleted during the enumeration may or may not appear.</returns>
    IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, CancellationToken cancellationToken);
}
