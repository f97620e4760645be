namespace Sessions.Backends.Migration;

/// <summary>The outcome of <see cref="MigratingSessionBackend.MoveAsync"/>.</summary>
public enum SessionMoveResult
{
    /// <summary>The source store has no live record under the key (never had one, expired, or moved already).</summary>
    NotInSource = 0,

    /// <summary>Copied to the target and deleted from the source.</summary>
    Moved = 1,

    /// <summary>The target already had a record under the key; it was kept, and the source's stale copy deleted.</summary>
    AlreadyInTarget = 2,

    /// <summary>The source's record changed or went away during the move; nothing was moved. Run the move again.</summary>
    Conflict = 3,
}
