using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.Core.Tests.Protection;

/// <summary>
/// A real Data Protection key ring persisted as XML files in a temporary directory: keys are created and revoked through
/// <see cref="IKeyManager"/>, and "destroyed" by deleting their files and opening the ring again from the directory.
/// </summary>
public sealed class ProtectedKeyRing : IDisposable
{
    private readonly ServiceProvider _services;

    public ProtectedKeyRing(string directory)
    {
        Directory = directory;
        var services = new ServiceCollection();
        services.AddDataProtection()
            .PersistKeysToFileSystem(new DirectoryInfo(directory))
            .SetApplicationName("sessions-protection-tests");
        _services = services.BuildServiceProvider();
    }

    public string Directory { get; }

    public IDataProtectionProvider Provider => _services.GetRequiredService<IDataProtectionProvider>();

    public IKeyManager Keys => _services.GetRequiredService<IKeyManager>();

    /// <summary>A new key, active now and for 90 days: Data Protection makes it the default key for new writes.</summary>
    public IKey CreateKey() => Keys.CreateNewKey(DateTimeOffset.UtcNow.AddSeconds(-1), DateTimeOffset.UtcNow.AddDays(90));

    /// <summary>Deletes the key's XML file, so a ring opened from the directory afterwards no longer has it.</summary>
    public void DestroyKey(Guid keyId)
    {
        var files = System.IO.Directory.GetFiles(Directory, $"key-{keyId:D}.xml");
        if (files.Length != 1)
        {
            throw new InvalidOperationException($"expected one file for key {keyId} in {Directory}, found {files.Length}");
        }

        File.Delete(files[0]);
    }

    /// <summary>
    /// The Data Protection key ID that wrapped a stored record's data key: format byte 0xD3 (or 0xD2), 2-byte wrapped length, then the
    /// wrapped key, which is Data Protection's payload (4-byte magic header, then the 16-byte key ID).
    /// </summary>
    public static Guid KeyIdOf(ReadOnlySpan<byte> payload) => new(payload.Slice(3 + 4, 16));

    public void Dispose() => _services.Dispose();
}
