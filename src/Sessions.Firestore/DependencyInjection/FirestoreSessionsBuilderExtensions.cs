using Sessions.Firestore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="FirestoreSessionBackend"/> as a session backend.</summary>
public static class FirestoreSessionsBuilderExtensions
{
    /// <summary>The backend's name in <c>Sessions:Backend</c>, metrics, traces, logs and health checks: <c>firestore</c>.</summary>
    public const string BackendName = "firestore";

    /// <summary>
    /// Stores sessions in a Cloud Firestore collection (backend name <c>firestore</c>). Options bind from
    /// <c>Sessions:Firestore</c> of the configuration given to <c>AddSessions(IConfiguration)</c>, then
    /// <paramref name="configure"/> runs; they are validated when the app starts with this backend selected.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSessions(...)</c>.</param>
    /// <param name="configure">Sets <see cref="FirestoreSessionBackendOptions"/> in code; <see langword="null"/> to rely on configuration.</param>
    /// <returns>The builder.</returns>
    /// <example><code>
    /// builder.Services.AddSessions().AddFirestoreBackend(o =&gt; o.ProjectId = "my-project");
    /// // the emulator: Sessions__Firestore__EmulatorHost=127.0.0.1:8080 Sessions__Firestore__ProjectId=demo
    /// builder.Services.AddSessions(builder.Configuration.GetSection("Sessions")).AddFirestoreBackend();
    /// </code></example>
    public static ISessionsBuilder AddFirestoreBackend(this ISessionsBuilder builder, Action<FirestoreSessionBackendOptions>? configure = null) =>
        builder.AddBackend<FirestoreSessionBackendOptions, FirestoreSessionBackendOptionsValidator>(BackendName, "Firestore", configure, static (services, options) =>
            new FirestoreSessionBackend(options, services.GetService<TimeProvider>()));
}
