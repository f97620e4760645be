using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.FileSystem.Tests.Support;

/// <summary>
/// Shared set-up for this project's own tests: one temp directory per fixture, a fresh root per backend, and disposal of
/// every backend a test created.
/// </summary>
public abstract class FileSystemBackendTestBase
{
    private readonly List<FileSystemSessionBackend> _backends = [];
    private TestDirectory? _directory;

    private protected TestDirectory FixtureDirectory => _directory ?? throw new InvalidOperationException("OneTimeSetUp has not run.");

    private protected static DateTimeOffset InAnHour => DateTimeOffset.UtcNow.AddHours(1);

    [OneTimeSetUp]
    public void CreateFixtureDirectory() => _directory = new TestDirectory(GetType().Name);

    [OneTimeTearDown]
    public void DeleteFixtureDirectory() => _directory?.Dispose();

    [TearDown]
    public async Task DisposeBackends()
    {
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }

        _backends.Clear();
    }

    /// <summary>A backend on a new, empty root directory (or on <paramref name="root"/>).</summary>
    private protected FileSystemSessionBackend NewBackend(
        Action<FileSystemSessionBackendOptions>? configure = null, TimeProvider? time = null, string? root = null)
    {
        var options = new FileSystemSessionBackendOptions { Directory = root ?? FixtureDirectory.NewSubdirectoryPath() };
        configure?.Invoke(options);
        var backend = new FileSystemSessionBackend(options, time);
        _backends.Add(backend);
        return backend;
    }

    private protected static SessionRecord Record(string text, DateTimeOffset expiresAt, long version = 1) =>
        new(Encoding.UTF8.GetBytes(text), expiresAt, version);

    private protected static string TextOf(SessionRecord? record) =>
        record is null ? "<null>" : Encoding.UTF8.GetString(record.Payload.Span);

    /// <summary>The lowercase hex SHA-256 of the key: the record's file name, without extension.</summary>
    private protected static string HashHex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(key)));

    /// <summary>Where the record of <paramref name="key"/> must be: <c>root/ab/cd/abcd….session</c>.</summary>
    private protected static string ExpectedPath(FileSystemSessionBackend backend, string key)
    {
        var hex = HashHex(key);
        return Path.Combine(backend.RootDirectory, hex[..2], hex[2..4], hex + ".session");
    }

    private protected static string LockPathOf(FileSystemSessionBackend backend, string key) =>
        Path.Combine(Path.GetDirectoryName(ExpectedPath(backend, key))!, ".lock");

    private protected static string[] AllFiles(string root) => Directory.GetFiles(root, "*", SearchOption.AllDirectories);

    private protected static string[] TempFiles(string root) => Directory.GetFiles(root, "*.tmp", SearchOption.AllDirectories);

    /// <summary>Holds a file the way the backend's shard lock does: open with <see cref="FileShare.None"/>.</summary>
    private protected static FileStream HoldExclusively(string path) => new(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.None);

    private protected static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> keys)
    {
        var list = new List<string>();
        await foreach (var key in keys)
        {
            list.Add(key);
        }

        return list;
    }
}
