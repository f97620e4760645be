using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.EFCore.Internal;

/// <summary>A context borrowed for one operation, with the scope it came from (if any); disposing returns both.</summary>
internal readonly struct ContextLease(DbContext context, AsyncServiceScope? scope) : IAsyncDisposable
{
    public DbContext Context { get; } = context;

    public async ValueTask DisposeAsync()
    {
        if (scope is { } s)
        {
            await s.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            await Context.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Where the backend gets its contexts: a (pooled) factory, or a DI scope per operation.</summary>
internal delegate ValueTask<ContextLease> ContextSource(CancellationToken cancellationToken);

internal static class ContextSources
{
    public static ContextSource FromFactory<TContext>(IDbContextFactory<TContext> factory)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(factory);
        return async ct => new ContextLease(await factory.CreateDbContextAsync(ct).ConfigureAwait(false), null);
    }

    public static ContextSource FromScopes<TContext>(IServiceScopeFactory scopes)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(scopes);
        return ct =>
        {
            var scope = scopes.CreateAsyncScope();
            return new(new ContextLease(scope.ServiceProvider.GetRequiredService<TContext>(), scope));
        };
    }
}
