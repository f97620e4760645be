using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NUnit.Framework;

namespace Sessions.Firestore.Tests;

/// <summary>
/// The access tokens sent to real Firestore, from a service-account key file: a key made here (RSA) whose
/// <c>token_uri</c> points at a loopback token endpoint standing in for Google's. Checks that the token request is a JWT
/// signed with that key and asks for Firestore's scope, that a fresh token is reused, and that one about to expire is
/// replaced. (The data path is tested against the emulator only.)
/// </summary>
[TestFixture]
public sealed class TokenTests
{
    [Test]
    public async Task A_token_is_fetched_with_a_signed_JWT_for_the_datastore_scope_and_reused_while_fresh()
    {
        using var rsa = RSA.Create(2048);
        await using var endpoint = TokenEndpoint.Start(expiresInSeconds: 3600, rsa);
        var keyFile = WriteKeyFile(rsa, endpoint.TokenUri);
        try
        {
            var tokens = new FirestoreChannel.TokenSource(keyFile);

            var first = await tokens.GetAccessTokenAsync(CancellationToken.None);
            var second = await tokens.GetAccessTokenAsync(CancellationToken.None);

            using (Assert.EnterMultipleScope())
            {
                Assert.That((first, second), Is.EqualTo(("token-1", "token-1")), "a token valid for an hour is reused");
                Assert.That(endpoint.Requests, Is.EqualTo(1), "token requests");
                Assert.That(endpoint.Problems, Is.Empty, "what the token endpoint found wrong with the requests");
                Assert.That(endpoint.Scopes, Has.All.EqualTo(FirestoreChannel.Scope), "the scope asked for");
            }
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Test]
    public async Task A_token_close_to_its_expiry_is_replaced_before_the_next_call()
    {
        using var rsa = RSA.Create(2048);
        // A token that lives one minute is inside the library's refresh window from the start, so every call refreshes it.
        await using var endpoint = TokenEndpoint.Start(expiresInSeconds: 60, rsa);
        var keyFile = WriteKeyFile(rsa, endpoint.TokenUri);
        try
        {
            var tokens = new FirestoreChannel.TokenSource(keyFile);

            var first = await tokens.GetAccessTokenAsync(CancellationToken.None);
            var second = await tokens.GetAccessTokenAsync(CancellationToken.None);

            Assert.That((first, second), Is.EqualTo(("token-1", "token-2")), "a token about to expire is replaced");
            Assert.That(endpoint.Problems, Is.Empty, "what the token endpoint found wrong with the requests");
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Test]
    public void A_missing_key_file_fails_the_first_call_and_is_tried_again_on_the_next()
    {
        var path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.json");
        var tokens = new FirestoreChannel.TokenSource(path);

        Assert.That(async () => await tokens.GetAccessTokenAsync(CancellationToken.None), Throws.InstanceOf<Exception>());
        Assert.That(async () => await tokens.GetAccessTokenAsync(CancellationToken.None), Throws.InstanceOf<Exception>(), "not a cached success");
    }

    private static string WriteKeyFile(RSA rsa, string tokenUri)
    {
        var path = Path.Combine(Path.GetTempPath(), $"sa-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = "test-project",
            ["private_key_id"] = "test-key-1",
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = "sessions@test-project.iam.gserviceaccount.com",
            ["client_id"] = "1234567890",
            ["token_uri"] = tokenUri,
        }));
        return path;
    }

    /// <summary>A loopback OAuth token endpoint: checks each JWT-bearer grant's signature against the key, and answers with numbered tokens.</summary>
    private sealed class TokenEndpoint : IAsyncDisposable
    {
        private readonly HttpListener _listener;
        private readonly RSA _key;
        private readonly int _expiresIn;
        private readonly Task _loop;
        private int _requests;

        private TokenEndpoint(HttpListener listener, int expiresIn, RSA key, string tokenUri)
        {
            _listener = listener;
            _expiresIn = expiresIn;
            _key = key;
            TokenUri = tokenUri;
            _loop = Task.Run(ServeAsync);
        }

        public string TokenUri { get; }

        public int Requests => Volatile.Read(ref _requests);

        public List<string> Problems { get; } = [];

        public List<string> Scopes { get; } = [];

        public static TokenEndpoint Start(int expiresInSeconds, RSA key)
        {
            for (var attempt = 0; ; attempt++)
            {
                var port = Sessions.Conformance.ServerProcess.FreeLoopbackPort();
                var listener = new HttpListener();
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    listener.Start();
                    return new TokenEndpoint(listener, expiresInSeconds, key, $"http://127.0.0.1:{port}/token");
                }
                catch (HttpListenerException) when (attempt < 5)
                {
                    listener.Close(); // the port was taken in between: try another
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            try
            {
                await _loop;
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
            }
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var n = Interlocked.Increment(ref _requests);
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                Check(System.Web.HttpUtility.ParseQueryString(await reader.ReadToEndAsync()));
                var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { access_token = $"token-{n}", expires_in = _expiresIn, token_type = "Bearer" }));
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }

        private void Check(System.Collections.Specialized.NameValueCollection form)
        {
            lock (Problems)
            {
                if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer")
                {
                    Problems.Add($"grant_type is '{form["grant_type"]}'");
                }

                var parts = (form["assertion"] ?? string.Empty).Split('.');
                if (parts.Length != 3)
                {
                    Problems.Add("the assertion is not a JWT");
                    return;
                }

                var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
                if (!_key.VerifyData(signed, Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
                {
                    Problems.Add("the assertion's RS256 signature does not verify with the service account's key");
                }

                using var claims = JsonDocument.Parse(Base64Url(parts[1]));
                Scopes.Add(claims.RootElement.TryGetProperty("scope", out var scope) ? scope.GetString() ?? string.Empty : string.Empty);
                if (claims.RootElement.TryGetProperty("iss", out var iss) && iss.GetString() != "sessions@test-project.iam.gserviceaccount.com")
                {
                    Problems.Add($"iss is '{iss.GetString()}'");
                }
            }
        }

        private static byte[] Base64Url(string text) => System.Buffers.Text.Base64Url.DecodeFromChars(text);
    }
}
