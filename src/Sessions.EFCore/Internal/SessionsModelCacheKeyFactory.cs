using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Sessions.EFCore.Internal;

/// <summary>Caches one model per table name and schema of the internal context.</summary>
internal sealed class SessionsModelCacheKeyFactory : IModelCacheKeyFactory
{
    public object Create(DbContext context, bool designTime) => context is SessionsDbContext sessions
        ? (context.GetType(), sessions.TableName, sessions.Schema, designTime)
        : (context.GetType(), designTime);
}
