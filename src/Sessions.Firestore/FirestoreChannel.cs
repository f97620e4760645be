using Google.Apis.Auth.OAuth2;
using Grpc.Core;
using Grpc.Net.Client;

namespace Sessions.Firestore;

/// <summary>
/// The gRPC channel to Firestore: plaintext HTTP/2 (h2c) without credentials to an emulator, or TLS to
/// <c>firestore.googleapis.com</c> with an OAuth access token attached to every call. Tokens come from Google.Apis.Auth,
/// which caches them and fetches a new one shortly before the old one expires.
/// </summary>
internal sealed class FirestoreChannel : IDisposable
{
    /// <summary>Firestore's public gRPC endpoint (the API reference's service address).</summary>
    public const string ProductionHost = "firestore.googleapis.com";

    /// <summary>The OAuth scope that grants Firestore data access.</summary>
    public const string Scope = "https://www.googleapis.com/auth/datastore";

    private FirestoreChannel(GrpcChannel channel, string endpoint, bool isEmulator)
    {
        Channel = channel;
        Endpoint = endpoint;
        IsEmulator = isEmulator;
        Client = new Protocol.Firestore.FirestoreClient(channel);
    }

    public GrpcChannel Channel { get; }

    public Protocol.Firestore.FirestoreClient Client { get; }

    /// <summary>The emulator's <c>host:port</c>, or <see cref="ProductionHost"/>.</summary>
    public string Endpoint { get; }

    public bool IsEmulator { get; }

    public static FirestoreChannel Create(FirestoreSessionBackendOptions options)
    {
        if (options.ResolveEmulatorHost() is { } emulator)
        {
            return new FirestoreChannel(GrpcChannel.ForAddress($"http://{emulator}", ChannelOptions(ChannelCredentials.Insecure)), emulator, isEmulator: true);
        }

        var tokens = new TokenSource(options.CredentialsPath);
        var perCall = CallCredentials.FromInterceptor(async (context, metadata) =>
        {
            var token = await tokens.GetAccessTokenAsync(context.CancellationToken).ConfigureAwait(false);
            metadata.Add("authorization", "Bearer " + token);
        });
        var credentials = ChannelCredentials.Create(ChannelCredentials.SecureSsl, perCall);
        return new FirestoreChannel(GrpcChannel.ForAddress($"https://{ProductionHost}", ChannelOptions(credentials)), ProductionHost, isEmulator: false);
    }

    public void Dispose() => Channel.Dispose();

    private static GrpcChannelOptions ChannelOptions(ChannelCredentials credentials) => new()
    {
        Credentials = credentials,
        ThrowOperationCanceledOnCancellation = true,
        // Reconnect within a second once the server is back (the default backoff grows to two minutes).
        InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
        MaxReconnectBackoff = TimeSpan.FromSeconds(1),
        MaxReceiveMessageSize = 16 * 1024 * 1024,
        HttpHandler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        },
    };

    /// <summary>OAuth access tokens for Firestore: from a service-account key file, or Application Default Credentials.</summary>
    internal sealed class TokenSource(string? credentialsPath)
    {
        private readonly Lock _lock = new();
        private Task<ITokenAccess>? _credential;

        public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken)
        {
            Task<ITokenAccess> loading;
            lock (_lock)
            {
                // A failed load (no credentials yet, metadata server not answering) is tried again on the next call.
                if (_credential is null || _credential.IsFaulted || _credential.IsCanceled)
                {
                    _credential = LoadAsync(credentialsPath);
                }

                loading = _credential;
            }

            var credential = await loading.ConfigureAwait(false);
            return await credential.GetAccessTokenForRequestAsync(null, cancellationToken).ConfigureAwait(false);
        }

        internal static async Task<ITokenAccess> LoadAsync(string? credentialsPath)
        {
            GoogleCredential credential = credentialsPath is { Length: > 0 } path
                ? (await CredentialFactory.FromFileAsync<ServiceAccountCredential>(path, CancellationToken.None).ConfigureAwait(false)).ToGoogleCredential()
                : await GoogleCredential.GetApplicationDefaultAsync().ConfigureAwait(false);
            return credential.CreateScoped(Scope);
        }
    }
}
