using Microsoft.Extensions.DependencyInjection.Extensions;
using Sessions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="ISessionEvents"/> handlers.</summary>
public static class SessionEventsBuilderExtensions
{
    /// <summary>
    /// Adds a lifecycle event handler, as a singleton created by dependency injection. Several may be added; they run in
    /// the order they were added. Adding the same type twice adds it once.
    /// </summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="builder">The sessions builder.</param>
    /// <returns>The sessions builder.</returns>
    public static ISessionsBuilder AddSessionEvents<THandler>(this ISessionsBuilder builder)
        where THandler : class, ISessionEvents
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ISessionEvents, THandler>());
        return builder;
    }

    /// <summary>Adds a lifecycle event handler instance (see <see cref="AddSessionEvents{THandler}(ISessionsBuilder)"/>).</summary>
    /// <param name="builder">The sessions builder.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>The sessions builder.</returns>
    public static ISessionsBuilder AddSessionEvents(this ISessionsBuilder builder, ISessionEvents handler)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(handler);
        builder.Services.AddSingleton(handler);
        return builder;
    }
}
