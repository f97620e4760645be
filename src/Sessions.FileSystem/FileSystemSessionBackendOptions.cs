namespace Sessions.FileSystem;

/// <summary>Options for <see cref="FileSystemSessionBackend"/>.</summary>
public sealed class FileSystemSessionBackendOptions
{
    /// <summary>The directory used when <see cref="Directory"/> is not set.</summary>
    public const string DefaultDirectory = "./.sessions";

    /// <summary>The lock timeout used when <see cref="LockTimeout"/> is not set: 10 seconds.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The root directory that holds the session files (default <c>./.sessions</c>). A relative path is resolved against
    /// the current directory once, when the backend is created. The directory is created (mode 0700 on Unix) if missing;
    /// several processes may share it.
    /// </summary>
    public string Directory { get; set; } = DefaultDirectory;

    /// <summary>
    /// When <see langword="true"/>, each write is flushed to the disk (<c>fsync</c>) before it replaces the previous
    /// version of the record, so a power loss cannot leave a record whose bytes never reached the disk. Slower; the default is
    /// <see langword="false"/>, which is safe against process crashes but not against power loss.
    /// </summary>
    public bool Fsync { get; set; }

    /// <summary>
    /// How long a write waits for the lock of the record's shard, held by another writer in this or another process,
    /// before it fails with <see cref="TimeoutException"/> (default 10 seconds). Locks are held only for the few
    /// milliseconds of a read-check-write, so a timeout means a writer is stuck.
    /// </summary>
    public TimeSpan LockTimeout { get; set; } = DefaultLockTimeout;

    /// <summary>Checks the options and returns one message per problem; empty when they are valid.</summary>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Directory))
        {
            errors.Add($"FileSystemSessionBackendOptions.Directory must be set to the directory that holds the session files, e.g. \"/var/lib/myapp/sessions\" (the default is \"{DefaultDirectory}\").");
        }
        else
        {
            try
            {
                _ = Path.GetFullPath(Directory);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                errors.Add($"FileSystemSessionBackendOptions.Directory \"{Directory}\" is not a valid path: {e.Message}");
            }
        }

        if (LockTimeout <= TimeSpan.Zero || LockTimeout.TotalMilliseconds > int.MaxValue)
        {
            errors.Add($"FileSystemSessionBackendOptions.LockTimeout must be positive and at most {TimeSpan.FromMilliseconds(int.MaxValue)}; got {LockTimeout}. The default is {DefaultLockTimeout.TotalSeconds} seconds.");
        }

        return errors;
    }
}
