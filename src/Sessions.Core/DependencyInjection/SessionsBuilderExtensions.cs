using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Helpers for backend packages' <c>Add&lt;Backend&gt;Backend</c> methods.</summary>
public static class SessionsBuilderExtensions
{
    /// <summary>
    /// Registers a backend's options the uniform way: bound from the child section <paramref name="sectionName"/> of the
    /// configuration given to <c>AddSessions(IConfiguration)</c> (for example <c>Sessions:Redis</c>), then
    /// <paramref name="configure"/> on top.
    /// </summary>
    /// <remarks>
    /// <para>Register an <see cref="IValidateOptions{TOptions}"/> for the options and read them (<c>IOptions&lt;T&gt;.Value</c>)
    /// in the backend's factory: the core creates the selected backend when the app starts, so a bad setting of the backend
    /// in force fails start-up, while a registered backend that is not selected is never created and never validated.</para>
    /// <para>Calling it twice for the same options type binds the section once; each call's delegate still runs, in order.</para>
    /// </remarks>
    /// <typeparam name="TOptions">The backend's options type.</typeparam>
    /// <param name="builder">The sessions builder.</param>
    /// <param name="sectionName">The child section's name, usually the backend's name in Pascal case (<c>Redis</c>, <c>FileSystem</c>).</param>
    /// <param name="configure">Sets options in code after binding; <see langword="null"/> for none.</param>
    /// <returns>The options builder, to add validation.</returns>
    public static OptionsBuilder<TOptions> AddBackendOptions<TOptions>(this ISessionsBuilder builder, string sectionName, Action<TOptions>? configure = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(sectionName);
        var options = builder.Services.AddOptions<TOptions>();
        if (builder.Configuration is { } configuration
            && !builder.Services.Any(d => d.ServiceType == typeof(IConfigureOptions<TOptions>) && d.ImplementationInstance is SectionBinding<TOptions>))
        {
            builder.Services.AddSingleton<IConfigureOptions<TOptions>>(new SectionBinding<TOptions>(configuration.GetSection(sectionName)));
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        return options;
    }

    private sealed class SectionBinding<TOptions>(IConfiguration section) : IConfigureOptions<TOptions>
        where TOptions : class
    {
        public void Configure(TOptions options) => section.Bind(options);
    }
}
