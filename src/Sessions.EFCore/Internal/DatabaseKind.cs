namespace Sessions.EFCore.Internal;

/// <summary>The databases whose SQL the backend speaks (it needs an upsert with a condition, which differs by dialect).</summary>
internal enum DatabaseKind
{
    Sqlite,
    PostgreSql,
}
