namespace Sessions.Ids;

/// <summary>Creates new session IDs and recognises well-formed ones.</summary>
public interface ISessionIdGenerator
{
    /// <summary>Creates a new, unpredictable session ID.</summary>
    /// <returns>The ID.</returns>
    string CreateId();

    /// <summary>Whether <paramref name="id"/> has the shape of an ID this generator creates. Cheap; no backend call.</summary>
    /// <param name="id">A candidate ID from a client.</param>
    /// <returns><see langword="true"/> when it is well-formed.</returns>
    bool IsWellFormed(ReadOnlySpan<char> id);
}
