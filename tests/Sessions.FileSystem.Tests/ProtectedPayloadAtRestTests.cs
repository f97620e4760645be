using System.Text;
using Microsoft.AspNetCore.DataProtection;
using NUnit.Framework;
using Sessions.Engine;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>
/// <see cref="SessionOptions.ProtectPayloads"/> on this backend: with it on, no byte sequence of a known value is left in
/// any file under the root (the control, with it off, finds it, so the search is able to fail).
/// </summary>
public sealed class ProtectedPayloadAtRestTests : FileSystemBackendTestBase
{
    private const string Secret = "plaintext-canary-51c3a9e0";

    [TestCase(false, SessionFormat.Binary, ExpectedResult = true)]
    [TestCase(true, SessionFormat.Binary, ExpectedResult = false)]
    [TestCase(true, SessionFormat.Json, ExpectedResult = false)]
    public async Task<bool> Files_hold_the_value_only_when_payloads_are_not_protected(bool protect, SessionFormat format)
    {
        var backend = NewBackend();
        var options = new SessionOptions { ProtectPayloads = protect, Format = format };
        var store = new SessionStore(backend, options, "filesystem", null, null, null, new EphemeralDataProtectionProvider());
        var session = store.CreateNew();
        session.Set("name", Encoding.UTF8.GetBytes(Secret));
        await store.CommitAsync(session, CancellationToken.None);

        var loaded = await store.LoadAsync(session.Id, CancellationToken.None);
        Assert.That(loaded!.TryGetValue("name", out var value) ? Encoding.UTF8.GetString(value) : null, Is.EqualTo(Secret), "the session reads back");

        var files = AllFiles(backend.RootDirectory);
        Assert.That(files, Is.Not.Empty);
        return files.Any(file => Contains(File.ReadAllBytes(file), Secret));
    }

    // The value in UTF-8, and in UTF-16 and base64 for good measure (a format could store either).
    private static bool Contains(byte[] haystack, string text) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0
        || haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(text)) >= 0
        || haystack.AsSpan().IndexOf(Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(text))[..20])) >= 0;
}
