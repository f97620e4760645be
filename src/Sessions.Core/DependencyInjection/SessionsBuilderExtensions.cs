using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sessions.Backends;

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

    /// <summary>
    /// Registers a backend the one way every backend package does: its options bound from the child section
    /// <paramref name="sectionName"/> then <paramref name="configure"/> (as <see cref="AddBackendOptions{TOptions}"/>), validated
    /// by <typeparamref name="TValidator"/> (a source-generated <c>[OptionsValidator]</c> where data annotations say it all;
    /// the <c>Member: </c> the generator writes before each message is dropped, so messages read as the annotations wrote them),
    /// and the backend under <paramref name="name"/>, created from the validated options if it is the one in force.
    /// </summary>
    /// <remarks>A backend that also implements <see cref="ISessionBackendInitializer"/> is initialized by the engine when the host starts.</remarks>
    /// <typeparam name="TOptions">The backend's options type.</typeparam>
    /// <typeparam name="TValidator">Validates <typeparamref name="TOptions"/>; registered once however often this is called.</typeparam>
    /// <param name="builder">The sessions builder.</param>
    /// <param name="name">The backend's short lowercase name (<c>redis</c>), as <see cref="ISessionsBuilder.UseBackend"/> takes it.</param>
    /// <param name="sectionName">The options' configuration section under <c>Sessions</c> (<c>Redis</c>).</param>
    /// <param name="configure">Sets options in code after binding; <see langword="null"/> for none.</param>
    /// <param name="factory">Creates the backend from the application's services and the validated options. The container disposes it.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> or <paramref name="sectionName"/> is empty.</exception>
    public static ISessionsBuilder AddBackend<TOptions, TValidator>(
        this ISessionsBuilder builder,
        string name,
        string sectionName,
        Action<TOptions>? configure,
        Func<IServiceProvider, TOptions, ISessionBackend> factory)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(factory);
        builder.AddBackendOptions(sectionName, configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, SettingNamedValidator<TOptions, TValidator>>());
        return builder.UseBackend(name, services => factory(services, services.GetRequiredService<IOptions<TOptions>>().Value));
    }

    /// <summary>
    /// Runs <typeparamref name="TValidator"/> and drops the <c>Member: </c> the Options source generator writes before each
    /// message, so that every message starts as its annotation wrote it: with the setting's name.
    /// </summary>
    private sealed class SettingNamedValidator<TOptions, TValidator> : IValidateOptions<TOptions>
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>, new()
    {
        private readonly TValidator _inner = new();

        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            var result = _inner.Validate(name, options);
            return result.Failed ? ValidateOptionsResult.Fail((result.Failures ?? [result.FailureMessage]).Select(WithoutMemberName)) : result;
        }

        private static string WithoutMemberName(string failure)
        {
            var colon = failure.IndexOf(": ", StringComparison.Ordinal);
            return colon > 0 && !failure.AsSpan(0, colon).ContainsAny(' ', '(') ? failure[(colon + 2)..] : failure;
        }
    }

    private sealed class SectionBinding<TOptions>(IConfiguration section) : IConfigureOptions<TOptions>
        where TOptions : class
    {
        public void Configure(TOptions options) => section.Bind(options);
    }
}
