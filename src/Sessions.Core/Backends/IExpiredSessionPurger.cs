namespace Sessions.Backends;

/// <summary>Optional backend capability, for stores without native expiry: deletes expired records.</summary>
public interface IExpiredSessionPurger
{
    /// <summary>Deletes every record whose expiry has passed.</summary>
    /// <param name="cancellationToken">Stops the purge; records already deleted stay deleted.</param>
    /// <returns>The number of records deleted.</returns>
    ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken);
}
