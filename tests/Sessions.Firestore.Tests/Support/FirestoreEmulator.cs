using Sessions.Conformance;

namespace Sessions.Firestore.Tests.Support;

/// <summary>
/// The Cloud Firestore emulator shared by the whole test run (starting one takes 10 to 20 s of Java start-up): started on
/// first use on a free loopback port (the SDK's emulator JVM, started directly), or the emulator that
/// <c>SESSIONS_TEST_FIRESTORE</c> (host:port) names. Stopped by the test assembly's FirestoreEmulatorLifetime when the run ends.
/// Tests isolate themselves with a project ID of their own: the emulator keeps each project's data apart.
/// </summary>
internal static class FirestoreEmulator
{
    public const string EnvironmentVariable = "SESSIONS_TEST_FIRESTORE";

    private static readonly Lazy<Task<string>> s_host = new(StartAsync);
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private static ServerProcess? s_process;

    /// <summary>The emulator's host:port.</summary>
    public static Task<string> HostAsync() => s_host.Value;

    /// <summary>The emulator process this run started, or <see langword="null"/> for an external one.</summary>
    public static ServerProcess? Process => s_process;

    /// <summary>A project ID no other test uses, so that the test sees only its own documents.</summary>
    public static string NewProjectId(string label) => $"{label}-{Guid.NewGuid():N}";

    /// <summary>Options for a backend on the emulator, in a project of its own unless <paramref name="projectId"/> is given.</summary>
    public static async Task<FirestoreSessionBackendOptions> OptionsAsync(string projectId) => new()
    {
        ProjectId = projectId,
        EmulatorHost = await HostAsync(),
        // The emulator is a JVM on a shared 2-core machine: generous deadlines so that load does not fake an outage.
        CallTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>Starts a second emulator of its own on a free port (for outage tests that kill it); the caller disposes it.</summary>
    public static Task<ServerProcess> StartPrivateAsync(int? port = null) => StartProcessAsync(port ?? ServerProcess.FreeLoopbackPort());

    public static void Stop()
    {
        s_process?.Dispose();
        s_process = null;
    }

    private static async Task<string> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } external)
        {
            return external;
        }

        var port = ServerProcess.FreeLoopbackPort();
        s_process = await StartProcessAsync(port);
        var host = $"127.0.0.1:{port}";
        await WarmUpAsync(host);
        return host;
    }

    /// <summary>
    /// The emulator's first calls are slow (the JVM compiles its code paths), often slower than a test's deadline on a busy
    /// machine: make a few with a generous deadline before any test runs.
    /// </summary>
    private static async Task WarmUpAsync(string host)
    {
        await using var backend = new FirestoreSessionBackend(new FirestoreSessionBackendOptions { ProjectId = "warm-up", EmulatorHost = host, CallTimeout = TimeSpan.FromSeconds(60) });
        for (var i = 0; i < 20; i++)
        {
            var key = $"warm-up:{i}";
            await backend.SetAsync(key, new Backends.SessionRecord(new byte[] { 1 }, DateTimeOffset.UtcNow.AddSeconds(-1), 1), Backends.SetCondition.IfAbsent, CancellationToken.None);
            var record = await backend.GetAsync(key, CancellationToken.None);
            await backend.TouchAsync(key, DateTimeOffset.UtcNow.AddMinutes(1), CancellationToken.None);
            await backend.RemoveAsync(key, 1, CancellationToken.None);
        }

        await backend.PurgeExpiredAsync(CancellationToken.None);
        await foreach (var unused in backend.EnumerateKeysAsync("warm-up:", CancellationToken.None))
        {
        }
    }

    // The emulator's JVM is started directly, as the SDK's cloud_firestore_emulator script would: started through
    // `gcloud emulators firestore start`, the JVM can outlive the gcloud process (it was seen re-parented to init while
    // gcloud had exited), and then neither a test's kill nor the run's teardown reaches it.
    private static async Task<ServerProcess> StartProcessAsync(int port)
    {
        var gcloud = ServerProcess.FindOnPath("gcloud", "install google-cloud-cli and google-cloud-cli-firestore-emulator (tools/setup.d/firestore.sh says how)");
        var sdk = Path.GetDirectoryName(Path.GetDirectoryName(new FileInfo(gcloud).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? gcloud))!;
        var jar = Path.Combine(sdk, "platform", "cloud-firestore-emulator", "cloud-firestore-emulator.jar");
        if (!File.Exists(jar))
        {
            throw new FileNotFoundException($"The Firestore emulator is not installed ({jar} is missing): install google-cloud-cli-firestore-emulator (tools/setup.d/firestore.sh says how).", jar);
        }

        var java = ServerProcess.FindOnPath("java", "install a Java runtime (tools/setup.d/firestore.sh installs one)");
        return await ServerProcess.StartAsync(
            $"Firestore emulator on 127.0.0.1:{port}",
            java,
            ["-Duser.language=en", "-cp", jar, "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start", "--host=127.0.0.1", $"--port={ServerProcess.Arg(port)}", "--database-mode=firestore-native"],
            async ct => (await s_http.GetAsync(new Uri($"http://127.0.0.1:{port}/"), ct)).IsSuccessStatusCode,
            readyTimeout: TimeSpan.FromSeconds(120));
    }
}
